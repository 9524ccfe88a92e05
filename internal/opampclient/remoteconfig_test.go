package opampclient

import (
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

func remoteConfig(hash string) *protobufs.AgentRemoteConfig {
	return &protobufs.AgentRemoteConfig{
		ConfigHash: []byte(hash),
		Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
			"": {Body: []byte("receivers: {}"), ContentType: "text/yaml"},
		}},
	}
}

// remoteConfigs lists the hashes of the remote configs the handler got.
func (h *handlerLog) remoteConfigs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.messages {
		if m.RemoteConfig != nil {
			out = append(out, string(m.RemoteConfig.GetConfigHash()))
		}
	}
	return out
}

// TestRemoteConfigOnlyWhenAccepted: a remote config reaches the handler
// only when the agent advertises AcceptsRemoteConfig.
func TestRemoteConfigOnlyWhenAccepted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		accept bool
		want   []string
	}{{"accepted", true, []string{"h1"}}, {"not accepted", false, nil}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testserver.Start(t)
			h := newHarness(srv.WSURL())
			if tc.accept {
				h.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig
			}
			h.start(t)
			srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.Description != nil })
			require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{RemoteConfig: remoteConfig("h1")}))
			if tc.accept {
				require.Eventually(t, func() bool { return len(h.handled.remoteConfigs()) > 0 }, waitFor, tick)
			}
			// A custom-capabilities message after it: once it is handled,
			// the remote config (sent first) was handled or dropped.
			require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{CustomCapabilities: &protobufs.CustomCapabilities{}}))
			require.Eventually(t, func() bool {
				h.handled.mu.Lock()
				defer h.handled.mu.Unlock()
				return len(h.handled.messages) > 0 && h.handled.messages[len(h.handled.messages)-1].CustomCapabilities != nil
			}, waitFor, tick)
			assert.Equal(t, tc.want, h.handled.remoteConfigs())
		})
	}
}

// TestRemoteConfigStatusReported: the status goes out when set and again
// in the full state after every reconnection.
func TestRemoteConfigStatusReported(t *testing.T) {
	srv := testserver.Start(t)
	h := newHarness(srv.WSURL())
	h.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig
	c := h.start(t)
	status := &protobufs.RemoteConfigStatus{
		LastRemoteConfigHash: []byte("h1"),
		Status:               protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED,
		ErrorMessage:         "bad",
	}
	require.NoError(t, c.SetRemoteConfigStatus(status))
	st := srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.RemoteConfigStatus != nil })
	assert.Equal(t, "bad", st.RemoteConfigStatus.GetErrorMessage())
	require.Eventually(t, func() bool {
		for _, k := range h.obs.stats().Sent {
			if k&KindRemoteConfigStatus != 0 {
				return true
			}
		}
		return false
	}, waitFor, tick, "the delivery is counted under its kind")

	// Every full state carries it: ask for one and count.
	before := len(srv.Agent(h.uid()).Messages)
	require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{
		Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState),
	}))
	require.Eventually(t, func() bool {
		msgs := srv.Agent(h.uid()).Messages[before:]
		for _, m := range msgs {
			if m.GetRemoteConfigStatus() != nil {
				return true
			}
		}
		return false
	}, waitFor, tick)
}

func TestSetRemoteConfigStatusNeedsCapability(t *testing.T) {
	srv := testserver.Start(t)
	c := newHarness(srv.WSURL()).start(t)
	assert.ErrorIs(t, c.SetRemoteConfigStatus(&protobufs.RemoteConfigStatus{}), errRemoteStatusOff)
}
