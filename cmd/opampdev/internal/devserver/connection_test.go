package devserver

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
	"github.com/opampext/opampextension/internal/opampclient"
)

const headerSecret = "Bearer dev-page-secret-7f3a"

// movingAgent is our own OpAMP client (internal/opampclient) taking
// connection settings offers the way the extension does, reduced to what
// the page can offer: the offered endpoint and header over the current
// connection, tried by Client.TryConnection (which switches when the
// offered server takes the agent's state); APPLIED or FAILED with why.
// It records the headers it was offered.
type movingAgent struct {
	t   *testing.T
	c   *opampclient.Client
	mu  sync.Mutex
	got []*protobufs.Header
	bg  sync.WaitGroup
}

func startMovingAgent(t *testing.T, tr agents.Transport, endpoint string) *movingAgent {
	t.Helper()
	m := &movingAgent{t: t}
	c, err := opampclient.Start(context.Background(), opampclient.Settings{
		URL:             endpoint,
		HTTP:            tr == agents.TransportHTTP,
		PollingInterval: 100 * time.Millisecond,
		// A heartbeat brings out a status set right after TryConnection
		// switched, which the client may otherwise hold until its next
		// message (a wake lost on the handover; reported to its owner).
		Heartbeat:   time.Second,
		InstanceUID: agentUID,
		Capabilities: protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings |
			protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus,
		Description: &protobufs.AgentDescription{IdentifyingAttributes: []*protobufs.KeyValue{{
			Key: "service.name", Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: "testcol"}},
		}}},
		Handler: opampclient.Handler{OnConnectionSettings: m.onOffer},
	})
	require.NoError(t, err)
	m.c = c
	t.Cleanup(func() {
		m.bg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, c.Stop(ctx))
	})
	return m
}

func (m *movingAgent) headers() []*protobufs.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.got
}

func (m *movingAgent) onOffer(_ context.Context, offers *protobufs.ConnectionSettingsOffers) {
	op := offers.GetOpamp()
	m.mu.Lock()
	m.got = append(m.got, op.GetHeaders().GetHeaders()...)
	m.mu.Unlock()
	cand := m.c.Connection()
	if ep := op.GetDestinationEndpoint(); ep != "" {
		cand.URL = ep
	}
	cand.Header = cand.Header.Clone()
	if cand.Header == nil {
		cand.Header = http.Header{}
	}
	for _, h := range op.GetHeaders().GetHeaders() {
		cand.Header.Set(h.GetKey(), h.GetValue())
	}
	// Not in the callback: it runs on the client's receiving goroutine.
	m.bg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st := &protobufs.ConnectionSettingsStatus{LastConnectionSettingsHash: offers.GetHash(),
			Status: protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED}
		if err := m.c.TryConnection(ctx, cand); err != nil {
			st.Status, st.ErrorMessage = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED, err.Error()
		}
		assert.NoError(m.t, m.c.SetConnectionSettingsStatus(st))
	})
}

// postConnection sends offer as the page does and returns the status and
// answer.
func postConnection(t *testing.T, srv *Server, uid string, offer any, header map[string]string) (int, string) {
	t.Helper()
	body, ok := offer.(string)
	if !ok {
		b, err := json.Marshal(offer)
		require.NoError(t, err)
		body = string(b)
	}
	if header == nil {
		header = map[string]string{}
	}
	if _, ok := header["Content-Type"]; !ok {
		header["Content-Type"] = "application/json"
	}
	return post(t, srv, "/api/agents/"+uid+"/connection", body, header)
}

func opampURL(tr agents.Transport, a net.Addr) string {
	if tr == agents.TransportHTTP {
		return "http://" + a.String() + "/v1/opamp"
	}
	return "ws://" + a.String() + "/v1/opamp"
}

// TestSendConnectionSettings: over WebSocket (pushed) and HTTP (with the
// next poll), a header offer from the page reaches the agent and ends
// APPLIED on the page, its value nowhere but at the agent; an offer of a
// dead endpoint ends FAILED with the agent's message, the agent still
// connected where it was; an offer of the server's second listener moves
// the agent there, APPLIED, the page naming the listener it is on.
func TestSendConnectionSettings(t *testing.T) {
	for _, tr := range []agents.Transport{agents.TransportWebSocket, agents.TransportHTTP} {
		t.Run(string(tr), func(t *testing.T) {
			out := &syncBuffer{}
			srv := New(Config{OpAMPAddrs: []string{"127.0.0.1:0", "127.0.0.1:0"}, UIAddr: "127.0.0.1:0", StaleAfter: time.Second, Out: out})
			require.NoError(t, srv.Start())
			t.Cleanup(func() { shutdown(t, srv) })
			t.Cleanup(func() {
				if t.Failed() {
					t.Log(out.String())
				}
			})
			listenerA, listenerB := srv.opampLns[0].Addr(), srv.opampLns[1].Addr()
			agent := startMovingAgent(t, tr, opampURL(tr, listenerA))
			waitAgent(t, srv, func(a agents.Agent) bool {
				return a.Connected && slices.Contains(a.Capabilities, "AcceptsOpAMPConnectionSettings") // JSON has the names
			})
			page := getPage(t, srv)
			assert.Contains(t, page, `<input id="csendpoint-`+agentUIDText+`"`, "a form for an agent that accepts connection settings")
			assert.Contains(t, page, "<code>ws://"+listenerA.String()+"/v1/opamp</code>, <code>ws://"+listenerB.String()+"/v1/opamp</code>", "the server's listeners")

			// offer posts one and waits for the status done accepts.
			offer := func(o agents.ConnectionOffer, done string) agents.Agent {
				t.Helper()
				code, answer := postConnection(t, srv, agentUIDText, o, nil)
				require.Equal(t, http.StatusOK, code, answer)
				var res SendResult
				require.NoError(t, json.Unmarshal([]byte(answer), &res))
				assert.Equal(t, tr == agents.TransportWebSocket, res.Delivered, "pushed over WebSocket, queued for the next poll over HTTP")
				return waitAgent(t, srv, func(a agents.Agent) bool {
					return a.ConnectionStatus != nil && a.ConnectionStatus.Hash == res.Hash && a.ConnectionStatus.Status == done
				})
			}

			a := offer(agents.ConnectionOffer{HeaderName: "Authorization", HeaderValue: headerSecret}, "APPLIED")
			require.Len(t, agent.headers(), 1)
			assert.Equal(t, headerSecret, agent.headers()[0].GetValue(), "the value reaches the agent")
			assert.Equal(t, &agents.SentConnection{Hash: a.ConnectionStatus.Hash, Header: "Authorization", At: a.SentConnection.At, Delivered: true}, a.SentConnection)
			page = getPage(t, srv)
			assert.Contains(t, page, `<span id="csstatus-`+agentUIDText+`" class="APPLIED" data-hash="`+a.ConnectionStatus.Hash+`">APPLIED</span>`)
			assert.Contains(t, page, "(the offer sent last)")
			assert.Contains(t, page, "header Authorization (value not shown)")
			assert.Regexp(t, `<p id="cshistory-`+agentUIDText+`">Reported: APPLIED at [0-9:.]+</p>`, page)
			assert.Contains(t, out.String(), "header Authorization (value not shown)")
			noSecret := func() {
				t.Helper()
				for what, text := range map[string]string{"page": getPage(t, srv), "terminal": out.String(), "API": get(t, srv, "/api/agents", "application/json")} {
					assert.NotContains(t, text, headerSecret, "the header value on the %s", what)
				}
			}
			noSecret()

			dead := "ws://" + closedPort(t) + "/v1/opamp"
			if tr == agents.TransportHTTP {
				dead = "http" + strings.TrimPrefix(dead, "ws")
			}
			a = offer(agents.ConnectionOffer{Endpoint: dead}, "FAILED")
			assert.Contains(t, a.ConnectionStatus.ErrorMessage, "connection refused")
			assert.True(t, a.Connected)
			assert.Equal(t, listenerA.String(), a.Listener, "still where it was")
			page = getPage(t, srv)
			assert.Contains(t, page, `class="FAILED" data-hash="`+a.ConnectionStatus.Hash+`">FAILED</span>`)
			assert.Regexp(t, `<pre class="err" id="cserror-`+agentUIDText+`">[^<]*connection refused</pre>`, page)

			a = offer(agents.ConnectionOffer{Endpoint: opampURL(tr, listenerB)}, "APPLIED")
			a = waitAgent(t, srv, func(a agents.Agent) bool { return a.Connected && a.Listener == listenerB.String() })
			assert.Contains(t, getPage(t, srv), "to listener <code>"+listenerB.String()+"</code>")

			noSecret()
			printed := out.String()
			assert.Contains(t, printed, "connection settings "+a.SentConnection.Hash[:8]+" sent: endpoint "+opampURL(tr, listenerB))
			assert.Contains(t, printed, "connection settings "+a.ConnectionStatus.Hash[:8]+": APPLIED")
			assert.Contains(t, printed, "connection refused")
			assert.Contains(t, printed, "to "+listenerB.String()+" (moved from "+listenerA.String()+")")
		})
	}
}

// TestSendConnectionSettingsRefused: what the endpoint turns away, and
// why; a refused request leaves nothing to send.
func TestSendConnectionSettingsRefused(t *testing.T) {
	srv := startServer(t, io.Discard)
	c := startAgent(t, agents.TransportWebSocket, srv) // accepts no connection settings
	defer func() { require.NoError(t, c.Stop(context.Background())) }()
	waitAgent(t, srv, func(a agents.Agent) bool { return a.Connected })
	assert.NotContains(t, getPage(t, srv), "csendpoint-", "no form for an agent that does not accept connection settings")

	good := agents.ConnectionOffer{Endpoint: "ws://127.0.0.1:1/v1/opamp"}
	tests := []struct {
		name   string
		uid    string
		offer  any
		header map[string]string
		want   int
	}{
		{"unknown agent", "0192f3a5-0000-7000-8000-000000000000", good, nil, http.StatusNotFound},
		{"agent does not accept connection settings", agentUIDText, good, nil, http.StatusConflict},
		{"not JSON (a form or no-preflight fetch from another site)", agentUIDText, good, map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"another site's origin", agentUIDText, good, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"a DNS name (rebinding)", agentUIDText, good, map[string]string{"Host": "evil.example:4321"}, http.StatusForbidden},
		{"malformed", agentUIDText, `{"endpoint":`, nil, http.StatusBadRequest},
		{"unknown field", agentUIDText, `{"url":"ws://h/p"}`, nil, http.StatusBadRequest},
		{"empty offer", agentUIDText, agents.ConnectionOffer{}, nil, http.StatusBadRequest},
		{"bad endpoint", agentUIDText, agents.ConnectionOffer{Endpoint: "tcp://h:1"}, nil, http.StatusBadRequest},
		{"too large", agentUIDText, `{"endpoint":"` + strings.Repeat("a", maxConnectionBytes) + `"}`, nil, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, answer := postConnection(t, srv, tt.uid, tt.offer, tt.header)
			assert.Equal(t, tt.want, code, answer)
		})
	}
	assert.Nil(t, srv.Agents()[0].SentConnection)
}

// closedPort is a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
