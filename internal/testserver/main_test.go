package testserver

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait in these tests; they normally take milliseconds.
const waitTimeout = 5 * time.Second

// testAgent is a real opamp-go client driven by a test.
type testAgent struct {
	client   client.OpAMPClient
	uid      string
	received chan *types.MessageData
	stopOnce sync.Once
}

// stop stops the client once: opamp-go's Stop blocks until its timeout when
// called a second time.
func (a *testAgent) stop(t *testing.T) {
	a.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		assert.NoError(t, a.client.Stop(ctx))
	})
}

// agentSetup customises a test agent before it starts.
type agentSetup struct {
	transport    Transport
	url          string
	header       http.Header
	tlsConfig    *tls.Config
	components   *protobufs.AvailableComponents
	pollInterval time.Duration
	extraCaps    protobufs.AgentCapabilities
}

// description is the AgentDescription every test agent reports.
func description(name string) *protobufs.AgentDescription {
	return &protobufs.AgentDescription{
		IdentifyingAttributes: []*protobufs.KeyValue{{
			Key:   "service.name",
			Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: name}},
		}},
	}
}

// startAgent starts a client and stops it at cleanup (before the server,
// which was started first).
func startAgent(t *testing.T, cfg agentSetup) *testAgent {
	t.Helper()
	a := &testAgent{received: make(chan *types.MessageData, 64)}
	switch cfg.transport {
	case TransportWebSocket:
		a.client = client.NewWebSocket(nil)
	case TransportHTTP:
		c := client.NewHTTP(nil)
		interval := cfg.pollInterval
		if interval == 0 {
			interval = 20 * time.Millisecond
		}
		c.SetPollingInterval(interval)
		a.client = c
	default:
		t.Fatalf("unknown transport %q", cfg.transport)
	}
	id := uuid.New()
	a.uid = id.String()

	caps := protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
		protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig | cfg.extraCaps
	require.NoError(t, a.client.SetAgentDescription(description("agent-"+a.uid)))
	if cfg.components != nil {
		require.NoError(t, a.client.SetAvailableComponents(cfg.components))
		caps |= protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents
	}
	require.NoError(t, a.client.SetCapabilities(&caps))
	require.NoError(t, a.client.Start(context.Background(), types.StartSettings{
		OpAMPServerURL: cfg.url,
		Header:         cfg.header,
		TLSConfig:      cfg.tlsConfig,
		InstanceUid:    types.InstanceUid(id),
		Callbacks: types.Callbacks{
			OnMessage: func(_ context.Context, msg *types.MessageData) {
				select {
				case a.received <- msg:
				default: // a test that stops reading must not block the client
				}
			},
		},
	}))
	t.Cleanup(func() { a.stop(t) })
	return a
}

// waitReceived returns the first message the agent receives that satisfies cond.
func (a *testAgent) waitReceived(t *testing.T, cond func(*types.MessageData) bool) *types.MessageData {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		select {
		case msg := <-a.received:
			if cond(msg) {
				return msg
			}
		case <-timer.C:
			t.Fatalf("agent %s: expected message not received within %v", a.uid, waitTimeout)
			return nil
		}
	}
}

func urlFor(s *Server, tr Transport) string {
	if tr == TransportWebSocket {
		return s.WSURL()
	}
	return s.HTTPURL()
}

var transports = []Transport{TransportWebSocket, TransportHTTP}
