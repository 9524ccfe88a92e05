package opampclient

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// waitFor bounds every positive condition: generous, since -race on a busy
// two-core machine is slow, and a passing test never waits that long.
const waitFor = 10 * time.Second

// tick is how often conditions are re-evaluated.
const tick = 10 * time.Millisecond

// testCapability is the custom capability the harness advertises.
const testCapability = "io.opampext.test"

// obsStats is a snapshot of a recObserver.
type obsStats struct {
	Connected, Disconnected, Failed, Dialed, Received int
	BytesSent, BytesReceived                          int
	Sent                                              []Kind
	SentAt                                            []time.Time
}

// recObserver records every Observer event.
type recObserver struct {
	mu sync.Mutex
	s  obsStats
}

var _ Observer = (*recObserver)(nil)

func (o *recObserver) with(f func(s *obsStats)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f(&o.s)
}

func (o *recObserver) Connected()       { o.with(func(s *obsStats) { s.Connected++ }) }
func (o *recObserver) Disconnected()    { o.with(func(s *obsStats) { s.Disconnected++ }) }
func (o *recObserver) ConnectFailed()   { o.with(func(s *obsStats) { s.Failed++ }) }
func (o *recObserver) Dialed()          { o.with(func(s *obsStats) { s.Dialed++ }) }
func (o *recObserver) MessageReceived() { o.with(func(s *obsStats) { s.Received++ }) }
func (o *recObserver) BytesSent(n int)  { o.with(func(s *obsStats) { s.BytesSent += n }) }
func (o *recObserver) BytesReceived(n int) {
	o.with(func(s *obsStats) { s.BytesReceived += n })
}

func (o *recObserver) MessageSent(k Kind) {
	o.with(func(s *obsStats) {
		s.Sent = append(s.Sent, k)
		s.SentAt = append(s.SentAt, time.Now())
	})
}

func (o *recObserver) stats() obsStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.s
	out.Sent = append([]Kind(nil), o.s.Sent...)
	out.SentAt = append([]time.Time(nil), o.s.SentAt...)
	return out
}

// stamps records when something happened, safe for concurrent use.
type stamps struct {
	mu sync.Mutex
	at []time.Time
}

// add records now and returns how many times have been recorded.
func (s *stamps) add() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at = append(s.at, time.Now())
	return len(s.at)
}

func (s *stamps) times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.at...)
}

// handlerLog records what the client hands to its Handler.
type handlerLog struct {
	mu        sync.Mutex
	connected int
	messages  []*types.MessageData
}

func (h *handlerLog) onConnected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connected++
}

func (h *handlerLog) onMessage(_ context.Context, m *types.MessageData) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.messages = append(h.messages, m)
}

func (h *handlerLog) connects() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connected
}

// customData lists the data of the custom messages delivered, in order.
func (h *handlerLog) customData() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.messages {
		if m.CustomMessage != nil {
			out = append(out, string(m.CustomMessage.GetData()))
		}
	}
	return out
}

// newUIDs lists the instance uids the handler was told about, in order.
func (h *handlerLog) newUIDs() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]byte
	for _, m := range h.messages {
		if m.AgentIdentification != nil {
			out = append(out, m.AgentIdentification.GetNewInstanceUid())
		}
	}
	return out
}

// harness is one client's settings and everything that records its
// behaviour.
type harness struct {
	Settings
	obs     *recObserver
	logs    *observer.ObservedLogs
	handled *handlerLog
}

// newHarness configures a client for url that reports a description,
// health and the test custom capability.
func newHarness(url string) *harness {
	core, logs := observer.New(zapcore.DebugLevel)
	h := &harness{obs: &recObserver{}, logs: logs, handled: &handlerLog{}}
	h.Settings = Settings{
		Logger:      zap.New(core),
		URL:         url,
		InstanceUID: types.InstanceUid(uuid.New()),
		Capabilities: protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
			protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth,
		Description: description("agent"),
		Health:      &protobufs.ComponentHealth{Healthy: true, Status: "StatusOK"},
		Observer:    h.obs,
		Handler: Handler{
			OnConnected: h.handled.onConnected,
			OnMessage:   h.handled.onMessage,
		},
	}
	return h
}

// start starts the client and stops it when the test ends.
func (h *harness) start(t *testing.T) *Client {
	t.Helper()
	c, err := Start(context.Background(), h.Settings)
	require.NoError(t, err)
	require.NoError(t, c.SetCustomCapabilities(&protobufs.CustomCapabilities{Capabilities: []string{testCapability}}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return c
}

// uid is the agent's initial instance uid as the test server spells it.
func (h *harness) uid() string { return uuid.UUID(h.InstanceUID).String() }

// warnings lists the messages of the warnings logged so far.
func (h *harness) warnings() []string {
	var out []string
	for _, e := range h.logs.FilterLevelExact(zapcore.WarnLevel).All() {
		out = append(out, e.Message)
	}
	return out
}

func description(name string) *protobufs.AgentDescription {
	return &protobufs.AgentDescription{IdentifyingAttributes: []*protobufs.KeyValue{{
		Key:   "service.name",
		Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: name}},
	}}}
}

func customMessage(data string) *protobufs.CustomMessage {
	return &protobufs.CustomMessage{Capability: testCapability, Type: "test", Data: []byte(data)}
}

// withDescription counts the messages that carried an agent description:
// the full states.
func withDescription(msgs []*protobufs.AgentToServer) int {
	n := 0
	for _, m := range msgs {
		if m.GetAgentDescription() != nil {
			n++
		}
	}
	return n
}

// stopWithin stops c and fails unless Stop returns nil within limit.
func stopWithin(t *testing.T, c *Client, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, c.Stop(ctx))
	require.Less(t, time.Since(start), limit, "Stop took too long")
}
