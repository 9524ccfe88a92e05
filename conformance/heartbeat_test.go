package conformance

import (
	"sort"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/testserver"
)

const reportsHeartbeat = protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat

// offer is a server message offering a heartbeat interval of secs (and a
// header, so an offer of 0 looks like the header-only offers servers send).
func offer(secs uint64) *protobufs.ServerToAgent {
	return &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
		Hash: []byte("offer"),
		Opamp: &protobufs.OpAMPConnectionSettings{
			HeartbeatIntervalSeconds: secs,
			Headers:                  &protobufs.Headers{Headers: []*protobufs.Header{{Key: "X-Token", Value: "t"}}},
		},
	}}
}

// heartbeatGaps waits for n more messages after the first from, and returns
// the median gap between them.
func heartbeatGaps(t *testing.T, r *testserver.Raw, from, n int) time.Duration {
	t.Helper()
	r.WaitFor(t, waitFor, "heartbeats", func(r *testserver.Raw) bool { return len(r.Requests()) >= from+n })
	var at []time.Time
	for _, e := range r.Events() {
		if e.Kind == testserver.EventMessage {
			at = append(at, e.At)
		}
	}
	g := gaps(at[from:])
	sort.Slice(g, func(i, j int) bool { return g[i] < g[j] })
	return g[len(g)/2]
}

// within asserts d is in [lo, hi].
func within(t *testing.T, d, lo, hi time.Duration, what string) {
	t.Helper()
	assert.GreaterOrEqual(t, d, lo, what)
	assert.LessOrEqual(t, d, hi, what)
}

// checkHeartbeatCapability: the capability follows the setting; the
// WebSocket heartbeat goes out either way.
func checkHeartbeatCapability(t *testing.T, tr Transport) {
	for _, on := range []bool{false, true} {
		r := raw(t)
		opts := []agentOpts{withHeartbeat(200 * time.Millisecond)}
		if on {
			opts = append(opts, withCaps(reportsHeartbeat))
		}
		startAgent(t, tr, at(r, tr), opts...)
		all := messages(t, r, 4)
		for _, m := range all {
			assert.Equal(t, on, m.GetCapabilities()&uint64(reportsHeartbeat) != 0)
		}
		assert.False(t, hasStatus(all[3]), "heartbeats carry no status")
	}
}

func checkHeartbeatInterval(t *testing.T, tr Transport) {
	r := raw(t)
	startAgent(t, tr, at(r, tr), withCaps(reportsHeartbeat), withHeartbeat(300*time.Millisecond),
		with(func(s *opampclient.Settings) { s.PollingInterval = 5 * time.Second }))
	settle(t, r)
	within(t, heartbeatGaps(t, r, 1, 4), 250*time.Millisecond, time.Second, "the configured heartbeat interval")
}

// checkHTTPPoll: a poll carries no status; it has the uid, capabilities
// and sequence number (departure: see the rule).
func checkHTTPPoll(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr))
	for _, m := range messages(t, r, 4)[1:] {
		assert.False(t, hasStatus(m))
		assert.Equal(t, a.uid(), m.GetInstanceUid())
		assert.NotZero(t, m.GetCapabilities())
		assert.Nil(t, m.GetAgentDisconnect())
		assert.Zero(t, m.GetFlags())
	}
}

func checkHTTPPollConfigurable(t *testing.T, tr Transport) {
	r := raw(t)
	startAgent(t, tr, at(r, tr), with(func(s *opampclient.Settings) { s.PollingInterval = 400 * time.Millisecond }))
	settle(t, r)
	within(t, heartbeatGaps(t, r, 1, 3), 350*time.Millisecond, 1200*time.Millisecond, "the configured polling interval")
}

// checkHTTPPollHeartbeat: the server's offered interval is the polling
// interval.
func checkHTTPPollHeartbeat(t *testing.T, tr Transport) {
	checkHeartbeatOffer(t, tr)
}

// checkHeartbeatOffer: an offered interval replaces the configured one
// (30 s here): heartbeats, and HTTP polls, come every second.
func checkHeartbeatOffer(t *testing.T, tr Transport) {
	r, s := scripted(t)
	if tr == HTTP {
		s.then(testserver.Reply{Msg: offer(1)}) // the answer to the first poll
	}
	startAgent(t, tr, at(r, tr), withCaps(reportsHeartbeat), with(func(st *opampclient.Settings) {
		st.PollingInterval = 30 * time.Second
		st.Heartbeat = 30 * time.Second
	}))
	settle(t, r)
	if tr == WS {
		say(t, r, s, tr, offer(1))
	}
	within(t, heartbeatGaps(t, r, 1, 3), 800*time.Millisecond, 1500*time.Millisecond, "the offered interval")
}

// checkHeartbeatOfferZero: an offer of 0 (or one that carries only headers)
// keeps the interval in use (departure: see the rule).
func checkHeartbeatOfferZero(t *testing.T, tr Transport) {
	r, s := scripted(t)
	startAgent(t, tr, at(r, tr), withCaps(reportsHeartbeat), withHeartbeat(300*time.Millisecond),
		with(func(st *opampclient.Settings) { st.PollingInterval = 300 * time.Millisecond }))
	settle(t, r)
	before := say(t, r, s, tr, offer(0))
	answered(t, r, tr, before)
	n := len(r.Requests())
	within(t, heartbeatGaps(t, r, n, 3), 250*time.Millisecond, time.Second, "the interval in use")
}

func checkHeartbeatUID(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr), withCaps(reportsHeartbeat), chatty)
	for _, m := range messages(t, r, 4)[1:] {
		assert.Equal(t, a.uid(), m.GetInstanceUid())
	}
}

// checkHeartbeatFromLast: a status report restarts the heartbeat count.
func checkHeartbeatFromLast(t *testing.T, tr Transport) {
	const every = 600 * time.Millisecond
	r := raw(t)
	a := startAgent(t, tr, at(r, tr), withCaps(reportsHeartbeat), withHeartbeat(every),
		with(func(s *opampclient.Settings) { s.PollingInterval = every }))
	settle(t, r)
	quiet(every / 2)
	before := len(r.Requests())
	_ = a.SetHealth(&protobufs.ComponentHealth{Healthy: true, Status: "changed"})
	report := waitAfter(t, r, before, "the report", func(req testserver.Request) bool { return req.Msg.GetHealth() != nil })
	r.WaitFor(t, waitFor, "the next heartbeat", func(r *testserver.Raw) bool { return len(r.Requests()) > before+1 })
	var reportAt, nextAt time.Time
	for _, e := range r.Events() {
		if e.Kind != testserver.EventMessage {
			continue
		}
		switch {
		case e.Req.Msg.GetSequenceNum() == report.Msg.GetSequenceNum() && reportAt.IsZero():
			reportAt = e.At
		case !reportAt.IsZero() && nextAt.IsZero():
			nextAt = e.At
		}
	}
	assert.GreaterOrEqual(t, nextAt.Sub(reportAt), every*3/4, "a heartbeat soon after a report")
}
