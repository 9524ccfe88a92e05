package conformance

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/opampext/opampextension/internal/health"
	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/testserver"
)

// messages waits until the server has n messages and returns them.
func messages(t *testing.T, r *testserver.Raw, n int) []*protobufs.AgentToServer {
	t.Helper()
	r.WaitFor(t, waitFor, "messages", func(r *testserver.Raw) bool { return len(msgs(r)) >= n })
	return msgs(r)
}

// chatty makes a WebSocket agent send heartbeats often, so a test sees
// messages on both transports.
var chatty = withHeartbeat(150 * time.Millisecond)

func checkInstanceUID(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr), chatty)
	for _, m := range messages(t, r, 4) {
		assert.Len(t, m.GetInstanceUid(), 16)
		assert.Equal(t, a.uid(), m.GetInstanceUid(), "the uid changed")
	}
}

// checkSequenceNum: the numbers the server processed run 0, 1, 2... with
// no gap: a failed HTTP attempt does not use one up.
func checkSequenceNum(t *testing.T, tr Transport) {
	r, s := scripted(t)
	failing := 0
	s.setRule(func(req testserver.Request) (testserver.Reply, bool) {
		if req.Conn >= 3 && failing < 2 {
			failing++
			if tr == WS {
				return testserver.Reply{Silent: true, Close: 1001}, true
			}
			return testserver.Reply{Status: http.StatusServiceUnavailable}, true
		}
		return testserver.Reply{}, false
	})
	startAgent(t, tr, at(r, tr), chatty, with(func(s *opampclient.Settings) { s.ReconnectSpread = 0 }))
	r.WaitFor(t, waitFor, "ten answered messages", func(r *testserver.Raw) bool { return len(processed(r)) >= 10 })
	for i, seq := range processed(r) {
		require.Equal(t, uint64(i), seq, "sequence numbers the server processed:%v\n%s", processed(r), r.Log())
	}
}

// processed lists the sequence numbers of the messages the server
// answered with 200 (HTTP) or received (WebSocket), in order.
func processed(r *testserver.Raw) []uint64 {
	var out []uint64
	var last *testserver.Request
	for _, e := range r.Events() {
		switch {
		case e.Kind == testserver.EventMessage && e.Req.Msg != nil:
			if e.Transport == testserver.TransportWebSocket {
				out = append(out, e.Req.Msg.GetSequenceNum())
			}
			last = e.Req
		case e.Kind == testserver.EventAnswer && e.Transport == testserver.TransportHTTP && e.Status == http.StatusOK && last != nil:
			out = append(out, last.Msg.GetSequenceNum())
		}
	}
	return out
}

func checkUnchangedUnset(t *testing.T, tr Transport) {
	r := raw(t)
	startAgent(t, tr, at(r, tr), chatty, withCaps(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents))
	all := messages(t, r, 5)
	assert.True(t, isFull(all[0]))
	for _, m := range all[1:] {
		assert.False(t, hasStatus(m), "status resent unchanged: %v", m)
	}
}

// definedCaps is every bit AgentCapabilities defines.
func definedCaps() uint64 {
	var all uint64
	for v := range protobufs.AgentCapabilities_name {
		all |= uint64(v)
	}
	return all
}

func checkCapabilities(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr), chatty, withCaps(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents|
		protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat|
		protobufs.AgentCapabilities_AgentCapabilities_AcceptsRestartCommand|
		protobufs.AgentCapabilities(1<<20)))
	messages(t, r, 3)
	a.stop(t)
	for _, m := range msgs(r) {
		assert.NotZero(t, m.GetCapabilities()&uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus), "ReportsStatus missing")
		assert.Zero(t, m.GetCapabilities()&^definedCaps(), "a reserved bit is set")
	}
}

// unsupported is a server message made of parts for capabilities the
// agent does not have.
func unsupported() *protobufs.ServerToAgent {
	return &protobufs.ServerToAgent{
		RemoteConfig:      &protobufs.AgentRemoteConfig{ConfigHash: []byte("h"), Config: &protobufs.AgentConfigMap{}},
		PackagesAvailable: &protobufs.PackagesAvailable{AllPackagesHash: []byte("p")},
		ConnectionSettings: &protobufs.ConnectionSettingsOffers{
			Hash:       []byte("c"),
			OwnMetrics: &protobufs.TelemetryConnectionSettings{DestinationEndpoint: "http://127.0.0.1:1/v1/metrics"},
		},
	}
}

// checkIgnoreUnsupported: parts for capabilities the agent lacks (remote
// config, packages, own telemetry, a restart) change nothing and send
// nothing.
func checkIgnoreUnsupported(t *testing.T, tr Transport) {
	r, s := scripted(t)
	startAgent(t, tr, at(r, tr))
	settle(t, r)
	for _, m := range []*protobufs.ServerToAgent{unsupported(), {Command: &protobufs.ServerToAgentCommand{}}} {
		before := say(t, r, s, tr, m)
		answered(t, r, tr, before)
	}
	quiet(300 * time.Millisecond)
	assert.Equal(t, 1, countMsgs(r, hasStatus), "a status report in answer to unsupported parts:\n%s", r.Log())
	assert.Equal(t, 1, r.Count(testserver.EventUpgrade)+boolInt(tr == HTTP), "the connection was dropped")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func checkDisconnectLast(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr))
	settle(t, r)
	require.Eventually(t, a.Connected, waitFor, 10*time.Millisecond) // HTTP: the client has the answer
	a.stop(t)
	all := msgs(r)
	assert.NotNil(t, all[len(all)-1].GetAgentDisconnect(), "the last message lacks AgentDisconnect")
	for _, m := range all[:len(all)-1] {
		assert.Nil(t, m.GetAgentDisconnect())
	}
}

// checkNoReportWithoutChange: server messages that change nothing (a
// ReportAvailableComponents flag while that capability is off, an error
// response, an empty message) send nothing, not even an early poll.
func checkNoReportWithoutChange(t *testing.T, tr Transport) {
	r, s := scripted(t)
	startAgent(t, tr, at(r, tr))
	settle(t, r)
	for _, m := range []*protobufs.ServerToAgent{
		{Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents)},
		{ErrorResponse: &protobufs.ServerErrorResponse{Type: protobufs.ServerErrorResponseType_ServerErrorResponseType_Unknown}},
		{},
	} {
		before := say(t, r, s, tr, m)
		if tr == HTTP {
			// The poll after the one that got m comes a polling interval later.
			r.WaitFor(t, waitFor, "two more polls", func(r *testserver.Raw) bool { return len(r.Requests()) >= before+2 })
			reqs := r.Requests()
			at := attemptTimes(r, tr)
			assert.GreaterOrEqual(t, at[before+1].Sub(at[before]), pollEvery*3/4, "an early poll after %v", m)
			assert.False(t, hasStatus(reqs[before+1].Msg))
			continue
		}
		quiet(300 * time.Millisecond)
		assert.Len(t, r.Requests(), before, "a message in answer to %v:\n%s", m, r.Log())
	}
}

func checkNewInstanceUID(t *testing.T, tr Transport) {
	r, s := scripted(t)
	a := startAgent(t, tr, at(r, tr), chatty)
	settle(t, r)
	uid := newUID()
	say(t, r, s, tr, assign(uid, 0))
	first := r.WaitRequest(t, waitFor, "a message with the new uid", func(req testserver.Request) bool {
		return string(req.Msg.GetInstanceUid()) == string(uid)
	})
	messages(t, r, len(msgs(r))+3)
	for _, m := range msgs(r) {
		if m.GetSequenceNum() > first.Msg.GetSequenceNum() {
			assert.Equal(t, uid, m.GetInstanceUid())
		}
	}
	assert.True(t, a.hasUID(uid))
}

// checkStatusFirst: the first message of every connection is a full
// status report, even when the client stops before it sent one.
func checkStatusFirst(t *testing.T, tr Transport) {
	r := raw(t)
	startAgent(t, tr, at(r, tr), with(func(s *opampclient.Settings) { s.ReconnectSpread = 0 }))
	settle(t, r)
	if tr == WS {
		require.NoError(t, r.CloseConn(1001))
		r.WaitRequest(t, waitFor, "a message on the second connection", func(req testserver.Request) bool { return req.Conn == 2 })
	}
	assertFirstFull(t, r, tr)

	// Stopped while connecting: any message sent is a status report first.
	for range 6 {
		r := raw(t)
		stopped := make(chan struct{})
		startAgent(t, tr, at(r, tr), func(a *agent, s *opampclient.Settings) {
			s.Handler.GetEffectiveConfig = func(context.Context) (*protobufs.EffectiveConfig, error) {
				<-a.ready
				go func() { a.stop(t); close(stopped) }()
				time.Sleep(50 * time.Millisecond) // the stop has begun
				return a.config.Load(), nil
			}
		})
		<-stopped
		assertFirstFull(t, r, tr)
	}
}

// assertFirstFull: each connection's (HTTP: the run's) first message is full.
func assertFirstFull(t *testing.T, r *testserver.Raw, tr Transport) {
	t.Helper()
	seen := map[int]bool{}
	for _, req := range r.Requests() {
		conn := req.Conn
		if tr == HTTP {
			conn = 0
		}
		if !seen[conn] {
			seen[conn] = true
			assert.True(t, isFull(req.Msg), "connection %d began with something else than a status report:\n%s", conn, r.Log())
		}
	}
}

func checkStatusOnChange(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr))
	settle(t, r)
	require.NoError(t, a.SetHealth(&protobufs.ComponentHealth{Healthy: false, Status: "StatusRecoverableError", LastError: "x"}))
	r.WaitRequest(t, waitFor, "the new health", func(req testserver.Request) bool { return req.Msg.GetHealth().GetStatus() == "StatusRecoverableError" })
	a.setConfig(t, effectiveConfig("exporters: {}"))
	r.WaitRequest(t, waitFor, "the new effective config", func(req testserver.Request) bool { return req.Msg.GetEffectiveConfig() != nil })
	require.NoError(t, a.SetAgentDescription(description("renamed")))
	r.WaitRequest(t, waitFor, "the new description", func(req testserver.Request) bool { return req.Msg.GetAgentDescription() != nil })
}

func checkChangedSubmessageWhole(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr))
	settle(t, r)
	tree := func(status string) *protobufs.ComponentHealth {
		return &protobufs.ComponentHealth{Healthy: true, Status: "StatusOK", ComponentHealthMap: map[string]*protobufs.ComponentHealth{
			"pipeline:a": {Healthy: true, Status: status},
			"pipeline:b": {Healthy: true, Status: "StatusOK"},
		}}
	}
	require.NoError(t, a.SetHealth(tree("StatusOK")))
	require.NoError(t, a.SetHealth(tree("StatusStarting")))
	got := r.WaitRequest(t, waitFor, "the changed tree", func(req testserver.Request) bool {
		return req.Msg.GetHealth().GetComponentHealthMap()["pipeline:a"].GetStatus() == "StatusStarting"
	})
	assert.Len(t, got.Msg.GetHealth().GetComponentHealthMap(), 2, "the unchanged sibling is missing")
}

func checkReportFullState(t *testing.T, tr Transport) {
	r, s := scripted(t)
	startAgent(t, tr, at(r, tr), withCaps(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents))
	settle(t, r)
	before := say(t, r, s, tr, &protobufs.ServerToAgent{Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState)})
	got := waitAfter(t, r, before, "the full state again", func(req testserver.Request) bool { return isFull(req.Msg) })
	assert.NotNil(t, got.Msg.GetEffectiveConfig())
	assert.NotEmpty(t, got.Msg.GetAvailableComponents().GetHash())
}

// checkHealthStartTime: the tree internal/health builds has start time 0
// once the Collector is stopping, and an error text whenever it is
// unhealthy; the client carries it as it is.
func checkHealthStartTime(t *testing.T, tr Transport) {
	rep := health.New(health.Settings{StartTime: time.Now()})
	id := componentstatus.NewInstanceID(component.MustNewID("otlp"), component.KindReceiver,
		pipeline.NewID(pipeline.SignalTraces))
	rep.Changed(id, componentstatus.NewEvent(componentstatus.StatusOK))
	starting := rep.Current()
	assert.False(t, starting.GetHealthy())
	assert.NotEmpty(t, starting.GetLastError(), "unhealthy while starting, without last_error")
	require.NoError(t, rep.Ready())
	require.NoError(t, rep.NotReady())
	stopping := rep.Current()
	assert.False(t, stopping.GetHealthy())
	assert.Zero(t, stopping.GetStartTimeUnixNano(), "a stopping agent keeps its start time")
	assert.NotEmpty(t, stopping.GetLastError(), "unhealthy while stopping, without last_error")

	r := raw(t)
	a := startAgent(t, tr, at(r, tr))
	settle(t, r)
	require.NoError(t, a.SetHealth(stopping))
	got := r.WaitRequest(t, waitFor, "the stopping health", func(req testserver.Request) bool {
		return req.Msg.GetHealth() != nil && !req.Msg.GetHealth().GetHealthy()
	})
	assert.Zero(t, got.Msg.GetHealth().GetStartTimeUnixNano())
	assert.Equal(t, stopping.GetLastError(), got.Msg.GetHealth().GetLastError())
}

func checkEffectiveConfigCapability(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr), chatty)
	first := settleFirst(t, r)
	assert.NotNil(t, first.GetEffectiveConfig())
	assert.NotZero(t, first.GetCapabilities()&uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig))
	before := len(msgs(r))
	a.setConfig(t, effectiveConfig("receivers: {}")) // unchanged
	quiet(400 * time.Millisecond)
	assert.Zero(t, countMsgs(r, func(m *protobufs.AgentToServer) bool { return m.GetEffectiveConfig() != nil })-1, "an unchanged config was sent")
	assert.Greater(t, len(msgs(r)), before)

	r2 := raw(t)
	startAgent(t, tr, at(r2, tr), with(func(s *opampclient.Settings) {
		s.Capabilities &^= protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig
	}))
	m := settleFirst(t, r2)
	assert.Nil(t, m.GetEffectiveConfig(), "an effective config without the capability")
}

// settleFirst waits for the first full report and returns it.
func settleFirst(t *testing.T, r *testserver.Raw) *protobufs.AgentToServer {
	t.Helper()
	settle(t, r)
	for _, m := range msgs(r) {
		if isFull(m) {
			return m
		}
	}
	return nil
}

func checkComponentsHash(t *testing.T, tr Transport) {
	r, s := scripted(t)
	startAgent(t, tr, at(r, tr), withCaps(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents))
	first := settleFirst(t, r)
	assert.Equal(t, []byte("components-hash"), first.GetAvailableComponents().GetHash())
	assert.Empty(t, first.GetAvailableComponents().GetComponents(), "the first report carries only the hash")
	say(t, r, s, tr, &protobufs.ServerToAgent{Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents)})
	full := r.WaitRequest(t, waitFor, "the full components", func(req testserver.Request) bool {
		return len(req.Msg.GetAvailableComponents().GetComponents()) > 0
	})
	assert.Equal(t, []byte("components-hash"), full.Msg.GetAvailableComponents().GetHash())

	r2 := raw(t)
	startAgent(t, tr, at(r2, tr), with(func(s *opampclient.Settings) { s.AvailableComponents = components() }))
	assert.Nil(t, settleFirst(t, r2).GetAvailableComponents(), "components without the capability")
}

// checkServerCapabilities: a server whose capabilities lack
// AcceptsEffectiveConfig gets no effective config once the agent knows.
func checkServerCapabilities(t *testing.T, tr Transport) {
	statusOnly := uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus)
	r, s := scripted(t)
	s.setRule(func(testserver.Request) (testserver.Reply, bool) {
		return testserver.Reply{Msg: &protobufs.ServerToAgent{Capabilities: statusOnly}}, true
	})
	a := startAgent(t, tr, at(r, tr), chatty)
	settle(t, r)
	messages(t, r, 2) // the agent has the server's answer
	a.setConfig(t, effectiveConfig("changed: {}"))
	quiet(400 * time.Millisecond)
	for _, m := range msgs(r)[1:] {
		assert.Nil(t, m.GetEffectiveConfig(), "an effective config to a server that does not accept it")
	}
	s.setRule(nil) // the default reply accepts effective config
	r.WaitRequest(t, waitFor, "the config once the server accepts it", func(req testserver.Request) bool {
		return string(req.Msg.GetEffectiveConfig().GetConfigMap().GetConfigMap()[""].GetBody()) == "changed: {}"
	})
}
