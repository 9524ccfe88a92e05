package opampextension

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/remoteconfig"
	"github.com/opampext/opampextension/internal/testserver"
)

const (
	applied  = protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED
	failed   = protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED
	applying = protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING
)

// remotePipeline adds a pipeline whose receiver holds addr.
func remotePipeline(addr string) string {
	return fmt.Sprintf(`
receivers:
  listen/remote:
    endpoint: %s
service:
  pipelines:
    traces/remote:
      receivers: [listen/remote]
      exporters: [nop]
`, addr)
}

// TestRemoteConfigApply drives one real Collector through every outcome
// of a remote config, each step over a real OpAMP server, reloading the
// Collector in-process.
func TestRemoteConfigApply(t *testing.T) {
	r := newRemoteRig(t)
	before := remoteconfig.Totals()
	r.start(t, 2*time.Second)
	r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == r.uid && a.EffectiveConfig != nil })

	addr := freePort(t)
	good := remotePipeline(addr)

	t.Run("good config applied", func(t *testing.T) {
		start := time.Now()
		r.send(t, "good", map[string]string{"": good})
		r.waitStatus(t, "good", applied)
		t.Logf("APPLIED %s after sending", time.Since(start))
		assert.EqualValues(t, 1, r.reloads.Load())
		waitListening(t, addr, "the remote pipeline's receiver listens")
		st := r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
			return a.UID == r.uid && strings.Contains(effective(a), "traces/remote")
		})
		assert.Contains(t, effective(st), addr)
	})

	t.Run("same hash: no reload", func(t *testing.T) {
		r.send(t, "good", map[string]string{"": good})
		r.send(t, "bad-yaml", map[string]string{"": "receivers: [unclosed"}) // a marker that the first was handled
		r.waitStatus(t, "bad-yaml", failed)
		assert.EqualValues(t, 1, r.reloads.Load())
	})

	refused := []struct {
		name, hash string
		files      map[string]string
		want       string
	}{
		{"invalid YAML", "yaml", map[string]string{"": "receivers: [unclosed"}, "invalid YAML"},
		{"unknown component", "unknown", map[string]string{"": "receivers:\n  nosuch:\nservice:\n  pipelines:\n    logs:\n      receivers: [nosuch]\n      exporters: [nop]\n"}, "nosuch"},
		{"invalid field", "field", map[string]string{"": "receivers:\n  listen/x:\n    no_such_field: 1\n"}, "no_such_field"},
		{"lock-out: the opamp extension", "lockout-ext", map[string]string{"": "extensions:\n  opamp:\n    server:\n      ws:\n        endpoint: ws://evil.example/v1/opamp\n"}, "extensions::opamp"},
		{"lock-out: service.extensions", "lockout-list", map[string]string{"": "service:\n  extensions: []\n"}, "service::extensions"},
		{"file provider", "provider", map[string]string{"": "receivers:\n  listen/x:\n    endpoint: ${file:/etc/passwd}\n"}, "receivers::listen/x::endpoint"},
		{"denied component type", "denied", map[string]string{"": "receivers:\n  denied:\n"}, `"denied"`},
		{"bad content type", "ctype", nil, "content type"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if tc.files == nil {
				require.NoError(t, r.srv.Send(r.uid, &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{
					ConfigHash: []byte(tc.hash),
					Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
						"": {Body: []byte("{}"), ContentType: "application/json"},
					}},
				}}))
			} else {
				r.send(t, tc.hash, tc.files)
			}
			st := r.waitStatus(t, tc.hash, failed)
			assert.Contains(t, st.RemoteConfigStatus.GetErrorMessage(), tc.want)
			assert.EqualValues(t, 1, r.reloads.Load(), "nothing is reloaded")
		})
	}

	t.Run("new hash, same content: applied without a reload", func(t *testing.T) {
		r.send(t, "good-again", map[string]string{"": good})
		r.waitStatus(t, "good-again", applied)
		assert.EqualValues(t, 1, r.reloads.Load())
	})

	t.Run("component in error: rolled back after the timeout", func(t *testing.T) {
		before := r.reloads.Load()
		r.send(t, "broken", map[string]string{"": good, "more": "receivers:\n  broken:\nservice:\n  pipelines:\n    traces/broken:\n      receivers: [broken]\n      exporters: [nop]\n"})
		st := r.waitStatus(t, "broken", failed)
		assert.Contains(t, st.RemoteConfigStatus.GetErrorMessage(), errBroken.Error())
		assert.Contains(t, st.RemoteConfigStatus.GetErrorMessage(), "not healthy within 2s")
		// FAILED is saved and reported before the rollback reloads, so the
		// second reload may follow the status the server saw.
		assert.Eventually(t, func() bool { return r.reloads.Load() == before+2 }, waitTime, 5*time.Millisecond,
			"the apply and the rollback")
		assert.EqualValues(t, before+2, r.reloads.Load(), "no reload beyond the rollback")
		r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
			return a.UID == r.uid && a.Connected && !strings.Contains(effective(a), "traces/broken") && strings.Contains(effective(a), "traces/remote")
		})
		waitListening(t, addr, "the last healthy config runs again")
		assert.GreaterOrEqual(t, remoteconfig.Totals().LastApply, 2*time.Second, "the apply lasted until the timeout")
	})

	t.Run("empty map reverts to the local config", func(t *testing.T) {
		r.send(t, "empty", map[string]string{})
		r.waitStatus(t, "empty", applied)
		r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
			return a.UID == r.uid && !strings.Contains(effective(a), "traces/remote")
		})
		assert.Eventually(t, func() bool {
			conn, err := net.Dial("tcp", addr)
			if err == nil {
				_ = conn.Close()
			}
			return err != nil
		}, waitTime, 20*time.Millisecond, "the remote receiver is gone")
	})

	t.Run("counts", func(t *testing.T) {
		after := remoteconfig.Totals()
		assert.Equal(t, remoteconfig.Counts{
			Received:   int64(4 + len(refused) + 2), // the same hash again included
			Applied:    3,                           // good, good-again, empty
			Failed:     int64(1 + len(refused) + 1), // bad-yaml, the refused, broken
			RolledBack: 1,                           // broken
		}, remoteconfig.Counts{
			Received:   after.Received - before.Received,
			Applied:    after.Applied - before.Applied,
			Failed:     after.Failed - before.Failed,
			RolledBack: after.RolledBack - before.RolledBack,
		})
		assert.Positive(t, after.LastApply)
		assert.Less(t, after.LastApply, 2*time.Second, "the last apply (empty) took one healthy reload")
	})
}

// TestRemoteConfigAcrossProcessEnds: a reload that ends the Collector (a
// port in use: core's Run returns the start error, and the process
// exits) leaves the last healthy config for the next start, which reports
// FAILED for the candidate; the failed instance executes the process
// again (here: a recorded call) once FAILED is on disk, and never when
// the last healthy config itself cannot start or after a stop; a start
// after APPLIED comes back with the remote config and the same hash.
func TestRemoteConfigAcrossProcessEnds(t *testing.T) {
	r := newRemoteRig(t)
	r.start(t, 2*time.Second)
	r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == r.uid && a.EffectiveConfig != nil })
	addr := freePort(t)
	r.send(t, "good", map[string]string{"": remotePipeline(addr)})
	r.waitStatus(t, "good", applied)

	// A port in use.
	{
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer func() { _ = busy.Close() }()
		done := r.current.done
		r.send(t, "in-use", map[string]string{"": remotePipeline(addr), "second": "receivers:\n  listen/busy:\n    endpoint: " + busy.Addr().String() + "\nservice:\n  pipelines:\n    traces/busy:\n      receivers: [listen/busy]\n      exporters: [nop]\n"})
		select {
		case err := <-done:
			done <- err // for the cleanup
			require.Error(t, err, "core ends Run when the reloaded service cannot start")
		case <-time.After(waitTime):
			t.Fatal("the Collector kept running")
		}

		restarts := r.restartStates()
		require.Len(t, restarts, 1, "the failed instance executes the process again")
		assert.Equal(t, "RemoteConfigStatuses_FAILED", restarts[0].Status.Status, "FAILED is on disk before the exec")
		assert.Equal(t, "in-use", string(restarts[0].Status.Hash))
		assert.Contains(t, restarts[0].Status.Error, "listen/busy")
		assert.Nil(t, restarts[0].Candidate)
		assert.Equal(t, "in-use", string(restarts[0].Restarted), "the exec is recorded: once per candidate")

		r.start(t, 2*time.Second) // what the exec starts
		st := r.waitStatus(t, "in-use", failed)
		assert.Contains(t, st.RemoteConfigStatus.GetErrorMessage(), "listen/busy")
		waitListening(t, addr, "the last healthy config runs")
	}

	// The last healthy config cannot start either (its port is taken
	// now): the process ends, and is not executed again.
	{
		r.current.shutdown()
		require.NoError(t, <-r.current.done)
		r.current.done <- nil // for the cleanup
		held, err := net.Listen("tcp", addr)
		require.NoError(t, err)
		run := r.start(t, 2*time.Second)
		select {
		case err := <-run.done:
			run.done <- err
			require.Error(t, err, "the start fails")
		case <-time.After(waitTime):
			t.Fatal("the Collector started on a port in use")
		}
		require.NoError(t, held.Close())
		assert.Len(t, r.restartStates(), 1, "no second exec")
		r.start(t, 2*time.Second)
		waitListening(t, addr, "the last healthy config runs once its port is free")
	}

	// A restart after APPLIED.
	{
		r.send(t, "good-2", map[string]string{"": remotePipeline(addr)})
		r.waitStatus(t, "good-2", applied)
		r.current.shutdown()
		require.NoError(t, <-r.current.done)
		r.current.done <- nil // for the cleanup
		before := len(r.srv.Agent(r.uid).Messages)
		r.start(t, 2*time.Second)
		r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
			if len(a.Messages) <= before {
				return false
			}
			for _, m := range a.Messages[before:] {
				s := m.GetRemoteConfigStatus()
				if string(s.GetLastRemoteConfigHash()) == "good-2" && s.GetStatus() == applied &&
					strings.Contains(effective(a), "traces/remote") {
					return true
				}
			}
			return false
		})
		waitListening(t, addr, "the remote config runs again")
	}
	assert.Len(t, r.restartStates(), 1, "a stop is never followed by an exec")
}

func waitListening(t *testing.T, addr, why string) {
	t.Helper()
	require.Eventually(t, func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	}, waitTime, 20*time.Millisecond, why)
}
