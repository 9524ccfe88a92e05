package devserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/client"
	clienttypes "github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
)

const agentUIDText = "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d"

// applyingAgent is a client that takes remote config the way the
// extension does: APPLYING, then (once the server has seen APPLYING: a
// client sends only its latest status) APPLIED with the new effective
// config, or FAILED for a body containing "invalid". It records every
// config it receives.
type applyingAgent struct {
	srv       *Server
	mu        sync.Mutex
	effective string
	received  []*protobufs.AgentRemoteConfig
	applying  sync.WaitGroup
}

func (a *applyingAgent) options() agentOptions {
	return agentOptions{
		caps: protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig |
			protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig,
		effectiveConfig: func() string {
			a.mu.Lock()
			defer a.mu.Unlock()
			return agentConfig + a.effective
		},
		onMessage: a.onMessage,
	}
}

func (a *applyingAgent) onMessage(c client.OpAMPClient, msg *clienttypes.MessageData) {
	rc := msg.RemoteConfig
	if rc == nil {
		return
	}
	a.mu.Lock()
	a.received = append(a.received, rc)
	a.mu.Unlock()
	status := func(s protobufs.RemoteConfigStatuses, why string) {
		_ = c.SetRemoteConfigStatus(&protobufs.RemoteConfigStatus{LastRemoteConfigHash: rc.GetConfigHash(), Status: s, ErrorMessage: why})
	}
	body := string(rc.GetConfig().GetConfigMap()[""].GetBody())
	if strings.Contains(body, "invalid") {
		status(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, "yaml: line 1: did not find expected key")
		return
	}
	status(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING, "")
	// Not in the callback: an HTTP client sends nothing until it returns.
	a.applying.Go(func() {
		hash := hex.EncodeToString(rc.GetConfigHash())
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if st := a.srv.Agents()[0].RemoteConfigStatus; st != nil && st.Hash == hash && st.Status == "APPLYING" {
				break
			}
		}
		a.mu.Lock()
		a.effective = body
		a.mu.Unlock()
		_ = c.UpdateEffectiveConfig(context.Background())
		status(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, "")
	})
}

// receivedCount is how many times the agent got the config with hash h.
func (a *applyingAgent) receivedCount(h string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, rc := range a.received {
		if hex.EncodeToString(rc.GetConfigHash()) == h {
			n++
		}
	}
	return n
}

func (a *applyingAgent) last() *protobufs.AgentRemoteConfig {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.received) == 0 {
		return nil
	}
	return a.received[len(a.received)-1]
}

// postConfig sends body as the page does and returns the status and answer.
func postConfig(t *testing.T, srv *Server, uid, body string, header map[string]string) (int, string) {
	t.Helper()
	h := map[string]string{"Content-Type": "application/yaml"}
	maps.Copy(h, header)
	return post(t, srv, "/api/agents/"+uid+"/config", body, h)
}

// post sends body to the page's server at path, with the headers given
// ("Host" sets the request's host), and returns the status and answer.
func post(t *testing.T, srv *Server, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+srv.UIAddr().String()+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func waitAgent(t *testing.T, srv *Server, cond func(a agents.Agent) bool) agents.Agent {
	t.Helper()
	var last agents.Agent
	require.Eventually(t, func() bool {
		list := getAgents(t, srv)
		if len(list) != 1 {
			return false
		}
		last = list[0]
		return cond(last)
	}, 5*time.Second, 20*time.Millisecond, "last seen: %+v", last.RemoteConfigStatus)
	return last
}

// TestSendRemoteConfig: a config posted as the page does reaches the
// agent (key "", text/yaml, sha256 hash) at once over WebSocket and with
// the next poll over HTTP, exactly once; the agent's APPLIED status and
// new effective config, then a FAILED status with its message, show in
// /api/agents and on the page.
func TestSendRemoteConfig(t *testing.T) {
	for _, tr := range []agents.Transport{agents.TransportWebSocket, agents.TransportHTTP} {
		t.Run(string(tr), func(t *testing.T) {
			out := &syncBuffer{}
			srv := startServer(t, out)
			agent := &applyingAgent{srv: srv}
			c := startAgentWith(t, tr, srv, agent.options())
			defer func() {
				agent.applying.Wait()
				require.NoError(t, c.Stop(context.Background()))
			}()
			waitAgent(t, srv, func(a agents.Agent) bool { return a.EffectiveConfig != nil })
			assert.Contains(t, getPage(t, srv), `<textarea id="yaml-`+agentUIDText+`"`, "an editor for an agent that accepts remote config")

			good := "receivers:\n  otlp/remote: {}\n"
			code, answer := postConfig(t, srv, agentUIDText, good, nil)
			require.Equal(t, http.StatusOK, code, answer)
			var res SendResult
			require.NoError(t, json.Unmarshal([]byte(answer), &res))
			assert.Equal(t, sha256Hex(good), res.Hash)
			assert.Equal(t, tr == agents.TransportWebSocket, res.Delivered, "pushed at once over WebSocket, queued for the next poll over HTTP")

			a := waitAgent(t, srv, func(a agents.Agent) bool {
				return a.RemoteConfigStatus != nil && a.RemoteConfigStatus.Status == "APPLIED" &&
					strings.Contains(a.EffectiveConfig[0].Body, "otlp/remote")
			})
			assert.Equal(t, res.Hash, a.RemoteConfigStatus.Hash)
			assert.Equal(t, &agents.SentConfig{Hash: res.Hash, Body: good, At: a.SentConfig.At, Delivered: true}, a.SentConfig)
			rc := agent.last()
			require.NotNil(t, rc)
			assert.Equal(t, map[string]*protobufs.AgentConfigFile{"": {Body: []byte(good), ContentType: "text/yaml"}}, rc.GetConfig().GetConfigMap())
			page := getPage(t, srv)
			assert.Contains(t, page, `class="APPLIED" data-hash="`+res.Hash+`">APPLIED</span>`)
			assert.Contains(t, page, "(the config sent last)")
			assert.Regexp(t, `<p id="rchistory-`+agentUIDText+`">Reported: APPLYING at [0-9:.]+ → APPLIED at [0-9:.]+</p>`, page,
				"the way to APPLIED, however short APPLYING was")
			assert.Contains(t, page, ">"+good+"</textarea>", "the editor starts from the config sent last")

			bad := "receivers: [invalid\n"
			code, answer = postConfig(t, srv, agentUIDText, bad, nil)
			require.Equal(t, http.StatusOK, code, answer)
			a = waitAgent(t, srv, func(a agents.Agent) bool {
				return a.RemoteConfigStatus != nil && a.RemoteConfigStatus.Status == "FAILED"
			})
			assert.Equal(t, sha256Hex(bad), a.RemoteConfigStatus.Hash)
			assert.Equal(t, "yaml: line 1: did not find expected key", a.RemoteConfigStatus.ErrorMessage)
			assert.Contains(t, getPage(t, srv), `<pre class="err" id="rcerror-`+agentUIDText+`">yaml: line 1: did not find expected key</pre>`)

			// More polls (or messages) must not carry the same config again.
			time.Sleep(300 * time.Millisecond)
			assert.Equal(t, 1, agent.receivedCount(sha256Hex(good)))
			assert.Equal(t, 1, agent.receivedCount(sha256Hex(bad)))
			printed := out.String()
			assert.Contains(t, printed, "remote config "+sha256Hex(good)[:8]+": APPLIED")
			assert.Contains(t, printed, "remote config "+sha256Hex(bad)[:8]+": FAILED\n")
		})
	}
}

// TestSendRemoteConfigRefused: what the endpoint turns away, and why; a
// refused request leaves nothing to send.
func TestSendRemoteConfigRefused(t *testing.T) {
	srv := startServer(t, io.Discard)
	c := startAgent(t, agents.TransportWebSocket, srv) // does not accept remote config
	defer func() { require.NoError(t, c.Stop(context.Background())) }()
	waitAgent(t, srv, func(a agents.Agent) bool { return a.Connected })
	assert.NotContains(t, getPage(t, srv), "<textarea", "no editor for an agent that does not accept remote config")

	addr := srv.UIAddr().String()
	tests := []struct {
		name   string
		uid    string
		body   string
		header map[string]string
		want   int
	}{
		{"unknown agent", "0192f3a5-0000-7000-8000-000000000000", "a: 1", nil, http.StatusNotFound},
		{"agent does not accept remote config", agentUIDText, "a: 1", nil, http.StatusConflict},
		{"not YAML (a form or no-preflight fetch from another site)", agentUIDText, "a: 1", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"another site's origin", agentUIDText, "a: 1", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"a DNS name (rebinding)", agentUIDText, "a: 1", map[string]string{"Host": "evil.example:4321", "Origin": "http://evil.example:4321"}, http.StatusForbidden},
		{"too large", agentUIDText, strings.Repeat("#", maxConfigBytes+1), nil, http.StatusRequestEntityTooLarge},
		{"the page's own origin gets past the checks", agentUIDText, "a: 1", map[string]string{"Origin": "http://" + addr}, http.StatusConflict},
		{"localhost gets past the checks", agentUIDText, "a: 1", map[string]string{"Host": "localhost:4321"}, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, answer := postConfig(t, srv, tt.uid, tt.body, tt.header)
			assert.Equal(t, tt.want, code, answer)
		})
	}
	assert.Nil(t, srv.Agents()[0].SentConfig)
}
