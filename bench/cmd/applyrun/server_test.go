package main

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/client"
	clienttypes "github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// health is a tree like our extension's: healthy, with the given
// pipelines healthy.
func health(healthy bool, pipelines ...string) *protobufs.ComponentHealth {
	h := &protobufs.ComponentHealth{Healthy: healthy, ComponentHealthMap: map[string]*protobufs.ComponentHealth{}}
	for _, p := range pipelines {
		h.ComponentHealthMap[p] = &protobufs.ComponentHealth{Healthy: true}
	}
	return h
}

// startAgent connects a real opamp-go client that accepts remote config
// and, for each one, reports APPLYING, then its pipelines healthy, then
// APPLIED, the way our extension does.
func startAgent(t *testing.T, endpoint string) client.OpAMPClient {
	t.Helper()
	c := client.NewWebSocket(nil)
	require.NoError(t, c.SetHealth(health(true, localPipeline)))
	caps := protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth |
		protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig
	require.NoError(t, c.SetCapabilities(&caps))
	require.NoError(t, c.SetAgentDescription(&protobufs.AgentDescription{
		IdentifyingAttributes: []*protobufs.KeyValue{{Key: "service.name", Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: "applyrun"}}}},
	}))
	require.NoError(t, c.Start(context.Background(), clienttypes.StartSettings{
		OpAMPServerURL: endpoint,
		InstanceUid:    clienttypes.InstanceUid{7},
		Callbacks: clienttypes.Callbacks{
			OnMessage: func(_ context.Context, msg *clienttypes.MessageData) {
				rc := msg.RemoteConfig
				if rc == nil {
					return
				}
				for _, st := range []protobufs.RemoteConfigStatuses{
					protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING,
					protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED,
				} {
					if st == protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED {
						// The client sends only the latest of statuses set
						// in a row: let APPLYING go out first.
						time.Sleep(50 * time.Millisecond)
						_ = c.SetHealth(health(true, localPipeline, addedPipeline))
					}
					_ = c.SetRemoteConfigStatus(&protobufs.RemoteConfigStatus{LastRemoteConfigHash: rc.GetConfigHash(), Status: st})
				}
			},
		},
	}))
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func TestPushServerAppliesOverARealConnection(t *testing.T) {
	srv, err := startPushServer()
	require.NoError(t, err)
	defer srv.stop()
	ctx := context.Background()

	_, err = srv.push(ctx, remoteConfig("x: 1\n"))
	require.ErrorIs(t, err, errNoAgent, "nothing to push to before an agent connects")

	startAgent(t, srv.endpoint())
	_, err = srv.await(ctx, time.Time{}, 10*time.Second, healthyWith(localPipeline))
	require.NoError(t, err, "the agent's start-up health")

	rc := remoteConfig(changeYAML(ports{local: 1, added: 2}))
	sent, err := srv.push(ctx, rc)
	require.NoError(t, err)
	applied, err := srv.await(ctx, sent, 10*time.Second,
		statusIs(rc.GetConfigHash(), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED))
	require.NoError(t, err)
	applying, err := srv.await(ctx, sent, time.Second,
		statusIs(rc.GetConfigHash(), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING))
	require.NoError(t, err)
	both, err := srv.await(ctx, sent, time.Second, healthyWith(localPipeline, addedPipeline))
	require.NoError(t, err)
	assert.False(t, applying.at.After(applied.at), "APPLYING came first")
	assert.False(t, both.at.Before(sent), "the health with both pipelines came after the push")

	_, err = srv.await(ctx, applied.at.Add(time.Nanosecond), 100*time.Millisecond,
		statusIs(rc.GetConfigHash(), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED))
	assert.ErrorIs(t, err, errTimeout, "a message before since does not count")
}

func TestMatchers(t *testing.T) {
	hash := []byte{1}
	for _, tc := range []struct {
		name  string
		match func(*protobufs.AgentToServer) bool
		msg   *protobufs.AgentToServer
		want  bool
	}{
		{"healthy with both", healthyWith(localPipeline, addedPipeline), &protobufs.AgentToServer{Health: health(true, localPipeline, addedPipeline)}, true},
		{"the added pipeline missing", healthyWith(localPipeline, addedPipeline), &protobufs.AgentToServer{Health: health(true, localPipeline)}, false},
		{"root unhealthy", healthyWith(localPipeline), &protobufs.AgentToServer{Health: health(false, localPipeline)}, false},
		{"no health", healthyWith(localPipeline), &protobufs.AgentToServer{}, false},
		{"status of that hash", statusIs(hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED),
			&protobufs.AgentToServer{RemoteConfigStatus: &protobufs.RemoteConfigStatus{LastRemoteConfigHash: hash, Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED}}, true},
		{"status of another hash", statusIs(hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED),
			&protobufs.AgentToServer{RemoteConfigStatus: &protobufs.RemoteConfigStatus{LastRemoteConfigHash: []byte{2}, Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED}}, false},
		{"another status", statusIs(hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED),
			&protobufs.AgentToServer{RemoteConfigStatus: &protobufs.RemoteConfigStatus{LastRemoteConfigHash: hash, Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.match(tc.msg)) })
	}
}
