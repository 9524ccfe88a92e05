package opampextension

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestFirstSnapshotWaitsForFirstMessage: the first config snapshot
// returns (and core goes on to start the pipelines) only once the first
// message, carrying the effective config, has left: the healthy report
// that follows the pipelines is then not queued behind it.
func TestFirstSnapshotWaitsForFirstMessage(t *testing.T) {
	// Long enough for a poll's round trip under -race: what is tested is
	// that the snapshot waits, not how long a send takes.
	old := firstSendWait
	firstSendWait = 10 * time.Second
	t.Cleanup(func() { firstSendWait = old })
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			srv := testserver.Start(t)
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
			}
			agent := newAgent(t, cfg)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)
			client := agent.client.Load()
			if tr == "ws" {
				require.Eventually(t, client.Connected, waitTime, time.Millisecond, "the WebSocket connects before the snapshot")
			}
			require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
			select {
			case <-client.FirstSent():
			default:
				t.Fatal("the first snapshot returned before the first message left")
			}
			uid := agent.uid.String()
			st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.MessageCount >= 1 })
			assert.NotNil(t, st.Messages[0].GetEffectiveConfig(), "the first message has the effective config")
		})
	}
}

// TestFirstSnapshotWaitIsBounded: a server that never answers holds the
// first snapshot no longer than firstSendWait.
func TestFirstSnapshotWaitIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	agent := newAgent(t, wsConfig("ws://"+dead+"/v1/opamp"))
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	start := time.Now()
	require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
	assert.Less(t, time.Since(start), firstSendWait+time.Second)
}
