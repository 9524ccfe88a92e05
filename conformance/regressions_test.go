package conformance

// Regression tests of the bugs the connection settings rules found
// (fixed since): each holds the rule's spec text it broke.

import (
	"net/http"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"

	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

// TestSequenceAcrossSwitch: "The sequence number is incremented by 1
// for every AgentToServer message sent by the Client." A header offer for
// the same server: the message with APPLYING and the try's full state
// share a number.
func TestSequenceAcrossSwitch(t *testing.T) {
	for _, tr := range []Transport{WS, HTTP} {
		t.Run(string(tr), func(t *testing.T) {
			a, s := scripted(t)
			startExt(t, newExtName(), heartbeating(offersKeys(tr, at(a, tr), t.TempDir())))
			settle(t, a)
			say(t, a, s, tr, headerOffer("seq", "X-Token", "two"))
			a.WaitRequest(t, waitFor, "APPLIED", csStatus("seq", csApplied))
			waitAfter(t, a, len(a.Requests())+2, "more messages", anyMsg)
			var seqs []uint64
			for _, m := range msgs(a) {
				seqs = append(seqs, m.GetSequenceNum())
			}
			for i := 1; i < len(seqs); i++ {
				assert.Equal(t, seqs[i-1]+1, seqs[i], "message %d: %v", i, seqs)
			}
		})
	}
}

// TestHTTPRevertNotLostToOldPoll: "If step 6 fails the Client deletes the
// new settings and reverts to the old settings and reconnects." Over HTTP
// the old server answers the poll carrying APPLYING after the offered
// server answered the try: that late success on the old connection marks
// the new one proven (opampclient runHTTP: failures = 0; c.proven()), so
// when the offered server then refuses every poll the client never goes
// back.
func TestHTTPRevertNotLostToOldPoll(t *testing.T) {
	a, s := scripted(t)
	s.setRule(func(req testserver.Request) (testserver.Reply, bool) {
		if req.Msg.GetConnectionSettingsStatus().GetStatus() != csApplying {
			return testserver.Reply{}, false
		}
		rep := testserver.RawDefaultReply(req)
		rep.Delay = 600 * time.Millisecond
		return rep, true
	})
	b := raw(t, testserver.RawWithResponder(func(req testserver.Request) testserver.Reply {
		if req.Conn > 1 {
			return testserver.Reply{Status: http.StatusUnauthorized}
		}
		return testserver.RawDefaultReply(req)
	}))
	startExt(t, newExtName(), offersKeys(HTTP, at(a, HTTP), t.TempDir()))
	settle(t, a)
	say(t, a, s, HTTP, moveTo("flaky", b, HTTP))
	a.WaitRequest(t, 2*waitFor, "FAILED after going back", csStatus("flaky", csFailed))
}

// TestCSRSeesLocalCertificate: an agent whose local client
// certificate is valid for 23 hours more, with certificate_renew_before
// 1h, must not ask for a new one.
func TestCSRSeesLocalCertificate(t *testing.T) {
	for _, tr := range []Transport{WS, HTTP} {
		t.Run(string(tr), func(t *testing.T) {
			ca := testcerts.New(t)
			sg := csrSigning(t, ca, 4*time.Hour)
			relay := startTLSRelay(t, ca, sg.r)
			k := csrKeys(heartbeating(tlsKeys(tr, relay, ca, t.TempDir(), true)))
			k["connection_settings"].(keys)["certificate_renew_before"] = "1h"
			startExt(t, newExtName(), k)
			settle(t, sg.r)
			waitAfter(t, sg.r, len(sg.r.Requests())+3, "more messages", anyMsg)
			assert.Zero(t, countMsgs(sg.r, func(m *protobufs.AgentToServer) bool { return csrOf(m) != nil }),
				"a CSR while the local certificate is valid for 23 h")
		})
	}
}
