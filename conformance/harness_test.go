package conformance

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Bounds: generous for -race on a loaded two-core machine; a passing test
// never waits that long.
const (
	waitFor = 10 * time.Second
	// pollEvery is the HTTP polling interval of the tests' agents.
	pollEvery = 200 * time.Millisecond
)

// Capabilities every test agent has.
const baseCaps = protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
	protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth |
	protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig

// agentOpts adjust a test agent's settings before it starts.
type agentOpts func(a *agent, s *opampclient.Settings)

// agent is one client under test and what records its behaviour.
type agent struct {
	*opampclient.Client
	settings opampclient.Settings
	logs     *observer.ObservedLogs
	obs      *discardLog
	config   atomic.Pointer[protobufs.EffectiveConfig]
	ready    chan struct{} // closed once Client is set
	remote   atomic.Int32  // remote configs the handler got
	stopOnce sync.Once
}

// startAgent starts a client of transport tr for url with a description,
// a health, an effective config and (when the capability is set) available
// components, and stops it when the test ends.
func startAgent(t *testing.T, tr Transport, url string, opts ...agentOpts) *agent {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	a := &agent{logs: logs, obs: &discardLog{}, ready: make(chan struct{})}
	a.config.Store(effectiveConfig("receivers: {}"))
	s := opampclient.Settings{
		Logger:          zap.New(core),
		URL:             url,
		HTTP:            tr == HTTP,
		InstanceUID:     types.InstanceUid(uuid.Must(uuid.NewV7())),
		PollingInterval: pollEvery,
		Capabilities:    baseCaps,
		Description:     description("agent"),
		Health:          healthy(),
		Observer:        a.obs,
		Handler: opampclient.Handler{
			GetEffectiveConfig: func(context.Context) (*protobufs.EffectiveConfig, error) {
				return a.config.Load(), nil
			},
			OnMessage: func(_ context.Context, m *types.MessageData) {
				if m.RemoteConfig != nil {
					a.remote.Add(1)
				}
			},
		},
	}
	for _, o := range opts {
		o(a, &s)
	}
	if s.Capabilities&protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents != 0 && s.AvailableComponents == nil {
		s.AvailableComponents = components()
	}
	c, err := opampclient.Start(context.Background(), s)
	require.NoError(t, err)
	a.Client, a.settings = c, s
	close(a.ready)
	t.Cleanup(func() { a.stop(t) })
	return a
}

// stop stops the client once.
func (a *agent) stop(t *testing.T) {
	a.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

// setConfig changes the agent's effective config and tells the client.
func (a *agent) setConfig(t *testing.T, ec *protobufs.EffectiveConfig) {
	t.Helper()
	a.config.Store(ec)
	require.NoError(t, a.UpdateEffectiveConfig(context.Background()))
}

// hasUID: the client uses uid now.
func (a *agent) hasUID(uid []byte) bool {
	cur := a.InstanceUID()
	return string(cur[:]) == string(uid)
}

// uid is the agent's initial instance uid.
func (a *agent) uid() []byte { return append([]byte(nil), a.settings.InstanceUID[:]...) }

// with adjusts the settings only.
func with(f func(s *opampclient.Settings)) agentOpts {
	return func(_ *agent, s *opampclient.Settings) { f(s) }
}

func withCaps(c protobufs.AgentCapabilities) agentOpts {
	return with(func(s *opampclient.Settings) { s.Capabilities |= c })
}

func withHeartbeat(d time.Duration) agentOpts {
	return with(func(s *opampclient.Settings) { s.Heartbeat = d })
}

// withConfig sets the effective config the agent starts with.
func withConfig(ec *protobufs.EffectiveConfig) agentOpts {
	return func(a *agent, _ *opampclient.Settings) { a.config.Store(ec) }
}

func description(name string) *protobufs.AgentDescription {
	return &protobufs.AgentDescription{IdentifyingAttributes: []*protobufs.KeyValue{{
		Key:   "service.name",
		Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: name}},
	}}}
}

func healthy() *protobufs.ComponentHealth {
	return &protobufs.ComponentHealth{Healthy: true, Status: "StatusOK", StartTimeUnixNano: uint64(time.Now().UnixNano())}
}

func effectiveConfig(yaml string) *protobufs.EffectiveConfig {
	return &protobufs.EffectiveConfig{ConfigMap: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
		"": {Body: []byte(yaml), ContentType: "text/yaml"},
	}}}
}

func components() *protobufs.AvailableComponents {
	return &protobufs.AvailableComponents{
		Hash: []byte("components-hash"),
		Components: map[string]*protobufs.ComponentDetails{
			"receivers": {SubComponentMap: map[string]*protobufs.ComponentDetails{"otlp": {}}},
		},
	}
}

// raw starts a Raw server for the test.
func raw(t *testing.T, opts ...testserver.RawOption) *testserver.Raw {
	return testserver.StartRaw(t, opts...)
}

// msgs lists the decoded messages the server received, oldest first.
func msgs(r *testserver.Raw) []*protobufs.AgentToServer {
	var out []*protobufs.AgentToServer
	for _, req := range r.Requests() {
		if req.Msg != nil {
			out = append(out, req.Msg)
		}
	}
	return out
}

// isFull: the message is a full status report.
func isFull(m *protobufs.AgentToServer) bool {
	return m.GetAgentDescription() != nil && m.GetHealth() != nil && m.GetCapabilities() != 0
}

// hasStatus: the message carries any status at all.
func hasStatus(m *protobufs.AgentToServer) bool {
	return m.GetAgentDescription() != nil || m.GetHealth() != nil || m.GetEffectiveConfig() != nil ||
		m.GetAvailableComponents() != nil || m.GetCustomCapabilities() != nil || m.GetCustomMessage() != nil
}

// countMsgs counts the received messages satisfying cond.
func countMsgs(r *testserver.Raw, cond func(*protobufs.AgentToServer) bool) int {
	n := 0
	for _, m := range msgs(r) {
		if cond(m) {
			n++
		}
	}
	return n
}

// waitAfter waits for a decoded message, after the first n received,
// that satisfies cond, and returns it.
func waitAfter(t *testing.T, r *testserver.Raw, n int, what string, cond func(testserver.Request) bool) testserver.Request {
	t.Helper()
	var found testserver.Request
	r.WaitFor(t, waitFor, what, func(r *testserver.Raw) bool {
		reqs := r.Requests()
		for i := n; i < len(reqs); i++ {
			if reqs[i].Msg != nil && cond(reqs[i]) {
				found = reqs[i]
				return true
			}
		}
		return false
	})
	return found
}

// settle waits until the server has taken the agent's first full report:
// received it over WebSocket, answered it with 200 over HTTP.
func settle(t *testing.T, r *testserver.Raw) {
	t.Helper()
	r.WaitFor(t, waitFor, "first full status report", func(r *testserver.Raw) bool {
		var last *testserver.Request
		for _, e := range r.Events() {
			switch {
			case e.Kind == testserver.EventMessage:
				last = e.Req
				if e.Transport == testserver.TransportWebSocket && last.Msg != nil && isFull(last.Msg) {
					return true
				}
			case e.Kind == testserver.EventAnswer && e.Status == http.StatusOK && last != nil && last.Msg != nil && isFull(last.Msg):
				return true
			}
		}
		return false
	})
}

// quiet sleeps d: the time in which something must not happen.
func quiet(d time.Duration) { time.Sleep(d) }

// events lists the events of the given kinds, oldest first.
func events(r *testserver.Raw, kinds ...testserver.EventKind) []testserver.Event {
	var out []testserver.Event
	for _, e := range r.Events() {
		for _, k := range kinds {
			if e.Kind == k {
				out = append(out, e)
			}
		}
	}
	return out
}

// at is the server's endpoint for transport tr.
func at(r *testserver.Raw, tr Transport) string { return r.URL(testserver.Transport(tr)) }
