package testserver

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

func TestDescriptionArrives(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := Start(t)
			a := startAgent(t, agentSetup{transport: tr, url: urlFor(s, tr)})

			got := s.WaitAgent(t, waitTimeout, func(st *AgentState) bool { return st.Description != nil })
			assert.Equal(t, a.uid, got.UID)
			assert.Equal(t, tr, got.Transport)
			assert.True(t, proto.Equal(description("agent-"+a.uid), got.Description), "description: %v", got.Description)
			assert.True(t, got.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig))
			assert.False(t, got.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth))

			require.NotZero(t, got.MessageCount)
			assert.Len(t, got.Messages, got.MessageCount)
			assert.Len(t, got.SequenceNums, got.MessageCount)
			size := 0
			for _, m := range got.Messages {
				size += proto.Size(m)
			}
			assert.Equal(t, size, got.Bytes)
			assert.Equal(t, []string{a.uid}, s.AgentUIDs())
			assert.Contains(t, s.Agents(), a.uid)
			assert.Equal(t, got.UID, s.Agent(strings.ToUpper(a.uid)).UID, "uid lookup ignores case")
			assert.Nil(t, s.Agent("not-an-agent"))
			if tr == TransportWebSocket {
				assert.True(t, got.Connected)
				assert.Equal(t, 1, s.Connections())
			}
		})
	}
}

func TestHeadersRecorded(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := Start(t)
			startAgent(t, agentSetup{
				transport: tr,
				url:       urlFor(s, tr),
				header:    http.Header{"Authorization": {"Bearer secret"}},
			})

			// HTTP records one entry per poll: wait for a few polls.
			want := 1
			if tr == TransportHTTP {
				want = 3
			}
			got := s.WaitAgent(t, waitTimeout, func(st *AgentState) bool { return len(st.Headers) >= want })
			for i, h := range got.Headers {
				assert.Equal(t, "Bearer secret", h.Get("Authorization"), "agent headers[%d]", i)
			}
			all := s.RequestHeaders()
			require.GreaterOrEqual(t, len(all), want)
			assert.Equal(t, "Bearer secret", all[0].Get("Authorization"))
		})
	}
}

func TestAgentDisconnectOverWebSocket(t *testing.T) {
	s := Start(t)
	a := startAgent(t, agentSetup{transport: TransportWebSocket, url: s.WSURL()})
	s.WaitAgent(t, waitTimeout, func(st *AgentState) bool { return st.Connected })

	a.stop(t)
	got := s.WaitAgent(t, waitTimeout, func(st *AgentState) bool { return st.Disconnected && !st.Connected })
	assert.NotNil(t, got.Messages[len(got.Messages)-1].GetAgentDisconnect())
	s.WaitFor(t, waitTimeout, func(s *Server) bool { return s.Connections() == 0 })
}

// post sends one raw plain-HTTP OpAMP request and returns the response.
func post(t *testing.T, s *Server, header http.Header, msg *protobufs.AgentToServer) (int, *protobufs.ServerToAgent) {
	t.Helper()
	body, err := proto.Marshal(msg)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.HTTPURL(), bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = header.Clone()
	req.Header.Set("Content-Type", contentTypeProtobuf)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	reply := &protobufs.ServerToAgent{}
	require.NoError(t, proto.Unmarshal(data, reply))
	return resp.StatusCode, reply
}

func TestOnConnectingRefuses(t *testing.T) {
	s := Start(t, WithOnConnecting(func(r *http.Request) (bool, int) {
		switch r.Header.Get("Authorization") {
		case "good":
			return true, 0
		case "busy":
			return false, http.StatusServiceUnavailable
		default:
			return false, 0 // no status: the server answers 401
		}
	}))
	uid := []byte("0123456789abcdef")
	tests := []struct {
		auth       string
		wantStatus int
	}{
		{"good", http.StatusOK},
		{"busy", http.StatusServiceUnavailable},
		{"", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		status, _ := post(t, s, http.Header{"Authorization": {tt.auth}}, &protobufs.AgentToServer{InstanceUid: uid})
		assert.Equal(t, tt.wantStatus, status, "auth %q", tt.auth)
	}
	headers := s.RequestHeaders()
	require.Len(t, headers, len(tests))
	for i, tt := range tests {
		assert.Equal(t, tt.auth, headers[i].Get("Authorization"))
	}
	agents := s.Agents()
	require.Len(t, agents, 1, "only the accepted request is recorded")
	for _, a := range agents {
		require.Len(t, a.Headers, 1)
		assert.Equal(t, "good", a.Headers[0].Get("Authorization"))
	}
}

func TestBadInstanceUIDIsRejected(t *testing.T) {
	s := Start(t)
	status, reply := post(t, s, http.Header{}, &protobufs.AgentToServer{InstanceUid: []byte{1, 2, 3}})
	require.Equal(t, http.StatusOK, status)
	require.NotNil(t, reply.GetErrorResponse())
	assert.Equal(t, protobufs.ServerErrorResponseType_ServerErrorResponseType_BadRequest, reply.GetErrorResponse().GetType())
	assert.Contains(t, reply.GetErrorResponse().GetErrorMessage(), "instance_uid")
	assert.Empty(t, s.Agents())
}

func TestURLs(t *testing.T) {
	s := Start(t)
	assert.Equal(t, "ws://"+s.Addr()+"/v1/opamp", s.WSURL())
	assert.Equal(t, "http://"+s.Addr()+"/v1/opamp", s.HTTPURL())
	assert.True(t, strings.HasPrefix(s.Addr(), "127.0.0.1:"))
	assert.NotEqual(t, "127.0.0.1:0", s.Addr())
}

// Shutdown must close WebSocket connections itself: opamp-go's Stop leaves
// hijacked connections (and their goroutines) running.
func TestStopClosesOpenWebSockets(t *testing.T) {
	s := Start(t)
	a := startAgent(t, agentSetup{transport: TransportWebSocket, url: s.WSURL()})
	s.WaitAgent(t, waitTimeout, func(st *AgentState) bool { return st.Connected })

	require.NoError(t, s.stop())
	assert.Zero(t, s.Connections())
	assert.False(t, s.Agent(a.uid).Connected)
	require.NoError(t, s.stop(), "stopping twice is harmless")
}
