package conformance

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

// certRig is an agent on mutual TLS through a relay to a Raw server.
type certRig struct {
	ca    *testcerts.Bundle
	r     *testserver.Raw
	s     *script
	relay *tlsRelay
}

func newCertRig(t *testing.T) *certRig {
	ca := testcerts.New(t)
	r, s := scripted(t)
	return &certRig{ca: ca, r: r, s: s, relay: startTLSRelay(t, ca, r)}
}

// waitPresented waits for more than n connections and returns the
// serials of the certificates presented on them.
func (c *certRig) waitPresented(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return len(c.relay.presented()) > n }, waitFor, 10*time.Millisecond, "a new connection")
	var out []string
	for _, p := range c.relay.presented() {
		out = append(out, serialOf(p))
	}
	return out
}

// bootstrapSerial is the serial of the local config's client certificate.
func (c *certRig) bootstrapSerial(t *testing.T) string {
	b, err := os.ReadFile(c.ca.ClientCertFile)
	require.NoError(t, err)
	return serialOfPEM(t, b)
}

// afterFirst: from the first connection presenting want on, every one
// presents it.
func afterFirst(t *testing.T, serials []string, want string) {
	t.Helper()
	seen := false
	for i, s := range serials {
		if s == want {
			seen = true
		} else if seen {
			t.Errorf("connection %d presents %s after the switch to %s (%v)", i+1, s, want, serials)
		}
	}
	assert.True(t, seen, "no connection presents %s (%v)", want, serials)
}

// checkCSCertificate: an offered certificate (with its key) replaces the
// bootstrap one the local config names, on every later connection and
// after a restart.
func checkCSCertificate(t *testing.T, tr Transport) {
	c := newCertRig(t)
	name, dir := newExtName(), t.TempDir()
	x := startExt(t, name, heartbeating(tlsKeys(tr, c.relay, c.ca, dir, true)))
	settle(t, c.r)
	assert.Equal(t, c.bootstrapSerial(t), serialOf(c.relay.presented()[0]), "the bootstrap certificate")
	cert, key, serial := issued(t, c.ca, "conformance-agent")
	say(t, c.r, c.s, tr, opampOffer("cert", &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: cert, PrivateKey: key}}))
	c.r.WaitRequest(t, waitFor, "APPLIED", csStatus("cert", csApplied))
	waitAfter(t, c.r, len(c.r.Requests()), "one more message", anyMsg)
	afterFirst(t, c.waitPresented(t, 1), serial)
	x.stop(t)
	n := len(c.relay.presented())
	startExt(t, name, tlsKeys(tr, c.relay, c.ca, dir, true))
	assert.Equal(t, serial, c.waitPresented(t, n)[n], "the restarted agent went back to the bootstrap certificate")
}

// checkCSCertificateOmitted: after an offered certificate, an offer
// without one (a header) keeps presenting it.
func checkCSCertificateOmitted(t *testing.T, tr Transport) {
	c := newCertRig(t)
	startExt(t, newExtName(), heartbeating(tlsKeys(tr, c.relay, c.ca, t.TempDir(), true)))
	settle(t, c.r)
	cert, key, serial := issued(t, c.ca, "conformance-agent")
	say(t, c.r, c.s, tr, opampOffer("cert", &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: cert, PrivateKey: key}}))
	c.r.WaitRequest(t, waitFor, "APPLIED", csStatus("cert", csApplied))
	n := len(c.relay.presented())
	say(t, c.r, c.s, tr, headerOffer("hdr", "X-Token", "t"))
	c.r.WaitRequest(t, waitFor, "APPLIED", csStatus("hdr", csApplied))
	serials := c.waitPresented(t, n)
	assert.Equal(t, serial, serials[len(serials)-1], "the offer without certificate changed the client certificate")
}

// signer is a server that accepts connection settings requests: its CA
// signs the n-th CSR for validFor[n-1] (the last for any later one),
// answered by an offer of the certificate without a private key, hashed
// "csr-<n>"; certs gets each.
type signer struct {
	r     *testserver.Raw
	certs chan []byte
	n     atomic.Int32
	// failNext: the next HTTP request gets 500 (a polling agent
	// "connects" again with the answer after it).
	failNext atomic.Bool
}

func csrSigning(t *testing.T, ca *testcerts.Bundle, validFor ...time.Duration) *signer {
	caps := uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus |
		protobufs.ServerCapabilities_ServerCapabilities_AcceptsEffectiveConfig |
		protobufs.ServerCapabilities_ServerCapabilities_OffersConnectionSettings |
		protobufs.ServerCapabilities_ServerCapabilities_AcceptsConnectionSettingsRequest)
	sg := &signer{certs: make(chan []byte, 8)}
	sg.r = raw(t, testserver.RawWithResponder(func(req testserver.Request) testserver.Reply {
		if req.Transport == testserver.TransportHTTP && sg.failNext.Swap(false) {
			return testserver.Reply{Status: http.StatusInternalServerError}
		}
		reply := &protobufs.ServerToAgent{Capabilities: caps}
		if csr := csrOf(req.Msg); csr != nil {
			n := int(sg.n.Add(1))
			cert := ca.SignCSR(t, csr, validFor[min(n, len(validFor))-1]) // checks the signature
			sg.certs <- cert
			reply.ConnectionSettings = &protobufs.ConnectionSettingsOffers{Hash: []byte(fmt.Sprintf("csr-%d", n)), Opamp: &protobufs.OpAMPConnectionSettings{
				Certificate: &protobufs.TLSCertificate{Cert: cert},
			}}
		}
		return testserver.Reply{Msg: reply}
	}))
	return sg
}

// checkCSRAgentKey: the CSR is PEM, signed by a key the agent made (the
// request's signature checks); the server offers the certificate without
// private_key, the agent presents it over mutual TLS; no message ever
// carries a private key.
func checkCSRAgentKey(t *testing.T, tr Transport) {
	ca := testcerts.New(t)
	sg := csrSigning(t, ca, 2*time.Hour)
	r := sg.r
	relay := startTLSRelay(t, ca, r)
	k := csrKeys(heartbeating(tlsKeys(tr, relay, ca, t.TempDir(), false)))
	k["connection_settings"].(keys)["certificate_renew_before"] = "1m" // the issued certificate is not due
	startExt(t, newExtName(), k)
	r.WaitRequest(t, waitFor, "APPLIED", csStatus("csr-1", csApplied))
	cert := <-sg.certs
	serial := serialOfPEM(t, cert)
	c := &certRig{ca: ca, r: r, relay: relay}
	waitAfter(t, r, len(r.Requests()), "one more message", anyMsg)
	afterFirst(t, c.waitPresented(t, 1), serial)
	assert.Nil(t, relay.presented()[0], "a client certificate before the CSR's")
	for _, m := range msgs(r) {
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		assert.False(t, bytes.Contains(b, []byte("PRIVATE KEY")), "a message carries a private key")
		if csr := csrOf(m); csr != nil {
			block, _ := pem.Decode(csr)
			require.NotNil(t, block)
			req, err := x509.ParseCertificateRequest(block.Bytes)
			require.NoError(t, err)
			require.NoError(t, req.CheckSignature())
		}
	}
}

// checkCSTLSForget: an offered tls message changes the fields it sets;
// the CA and client certificate of the local config stay.
func checkCSTLSForget(t *testing.T, tr Transport) {
	c := newCertRig(t)
	startExt(t, newExtName(), heartbeating(tlsKeys(tr, c.relay, c.ca, t.TempDir(), true)))
	settle(t, c.r)
	n := len(c.relay.presented())
	say(t, c.r, c.s, tr, opampOffer("tls", &protobufs.OpAMPConnectionSettings{Tls: &protobufs.TLSConnectionSettings{MinVersion: "1.3"}}))
	// APPLIED: the server was still verified with the local CA.
	c.r.WaitRequest(t, waitFor, "APPLIED", csStatus("tls", csApplied))
	serials := c.waitPresented(t, n)
	assert.Equal(t, c.bootstrapSerial(t), serials[len(serials)-1], "the local client certificate was forgotten")
}

// checkCSRRenew: an agent whose certificate (issued by an earlier CSR)
// ends within connection_settings.certificate_renew_before asks for a new
// one by CSR on its next connection (over WebSocket the one the switch to
// it made; a polling agent's after a failed poll), over mutual TLS with
// the old one, and presents the new one instead.
func checkCSRRenew(t *testing.T, tr Transport) {
	ca := testcerts.New(t)
	sg := csrSigning(t, ca, time.Hour, 4*time.Hour) // the first ends in 30 minutes, the next in 2 hours
	relay := startTLSRelay(t, ca, sg.r)
	k := csrKeys(heartbeating(tlsKeys(tr, relay, ca, t.TempDir(), false)))
	k["connection_settings"].(keys)["certificate_renew_before"] = "1h"
	startExt(t, newExtName(), k)
	sg.r.WaitRequest(t, waitFor, "APPLIED", csStatus("csr-1", csApplied))
	first := serialOfPEM(t, <-sg.certs)
	if tr == HTTP {
		sg.failNext.Store(true)
	}
	sg.r.WaitRequest(t, waitFor, "APPLIED", csStatus("csr-2", csApplied))
	second := serialOfPEM(t, <-sg.certs)
	c := &certRig{ca: ca, r: sg.r, relay: relay}
	waitAfter(t, sg.r, len(sg.r.Requests()), "one more message", anyMsg)
	serials := c.waitPresented(t, 1)
	assert.Contains(t, serials, first, "the renewing CSR went over the first certificate")
	afterFirst(t, serials, second)
}
