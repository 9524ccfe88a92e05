package conformance

import (
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

const (
	acceptsRemoteConfig = protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig
	reportsRemoteConfig = protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig
)

func remoteOffer() *protobufs.ServerToAgent {
	return &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{
		ConfigHash: []byte("h1"),
		Config:     &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{"": {Body: []byte("receivers: {}")}}},
	}}
}

// checkRemoteConfig: the bit is set exactly when the agent accepts remote
// configuration, and only then does an offer reach the agent.
func checkRemoteConfig(t *testing.T, tr Transport) {
	for _, accept := range []bool{true, false} {
		r, s := scripted(t)
		var opts []agentOpts
		if accept {
			opts = append(opts, withCaps(acceptsRemoteConfig))
		}
		a := startAgent(t, tr, at(r, tr), opts...)
		settle(t, r)
		before := say(t, r, s, tr, remoteOffer())
		answered(t, r, tr, before)
		if accept {
			require.Eventually(t, func() bool { return a.remote.Load() == 1 }, waitFor, 10*time.Millisecond)
		} else {
			assert.Zero(t, a.remote.Load(), "an offer reached an agent that does not accept remote configuration")
		}
		for _, m := range msgs(r) {
			assert.Equal(t, accept, m.GetCapabilities()&uint64(acceptsRemoteConfig) != 0)
		}
	}
}

// checkRemoteConfigStatus: the status goes once per change, not in every
// message.
func checkRemoteConfigStatus(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr), withCaps(acceptsRemoteConfig|reportsRemoteConfig), chatty)
	settle(t, r)
	status := &protobufs.RemoteConfigStatus{LastRemoteConfigHash: []byte("h1"), Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED}
	require.NoError(t, a.SetRemoteConfigStatus(status))
	require.NoError(t, a.SetRemoteConfigStatus(&protobufs.RemoteConfigStatus{LastRemoteConfigHash: []byte("h1"), Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED}))
	r.WaitRequest(t, waitFor, "the status", func(req testserver.Request) bool { return req.Msg.GetRemoteConfigStatus() != nil })
	n := len(msgs(r))
	messages(t, r, n+3)
	assert.Equal(t, 1, countMsgs(r, func(m *protobufs.AgentToServer) bool { return m.GetRemoteConfigStatus() != nil }), "an unchanged status was sent again")
}
