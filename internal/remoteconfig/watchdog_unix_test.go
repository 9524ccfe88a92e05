//go:build unix

package remoteconfig

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// TestWatchdog: the instance that started an apply leaves a watchdog
// when the reload stops it. When no instance of the new service starts
// (an extension ordered before opamp blocks its Start), the watchdog
// fails the candidate and executes the process again, once, FAILED on
// disk first; after a termination signal it reloads instead. A new
// instance that starts in time disarms it and decides the apply itself.
// Without Settings.Restart there is no watchdog.
func TestWatchdog(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, tc := range []struct {
		name         string
		noRestart    bool
		sigterm      bool
		nextStarts   bool // a new instance starts, healthy after the watchdog's deadline
		wantRestarts int64
		wantReloads  int64 // the apply's, and the watchdog's fallback
		wantStatus   protobufs.RemoteConfigStatuses
	}{
		{name: "no new instance", wantRestarts: 1, wantReloads: 1, wantStatus: failed},
		{name: "termination signal during the apply", sigterm: true, wantReloads: 2, wantStatus: failed},
		{name: "a new instance starts", nextStarts: true, wantReloads: 1, wantStatus: applied},
		{name: "no restart func", noRestart: true, wantReloads: 1, wantStatus: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(resetTermination)
			dir := t.TempDir()
			local := func() { // the converter's resolve: local config, candidate loaded
				require.NoError(t, Convert(context.Background(), confmap.NewFromStringMap(localAllowing(dir, nil)), zap.NewNop()))
			}
			local()
			s, err := openStore(dir)
			require.NoError(t, err)
			var reloads atomic.Int64
			restarts := &recordingRestart{store: s}
			set := Settings{
				Dir: dir, Rules: Rules{Own: "opamp"}, ApplyTimeout: timeout, RestartOnFailedStart: true,
				Validator: ValidatorFunc(func(context.Context, []byte) error { return nil }),
				Reload:    func() error { reloads.Add(1); return nil },
				Restart:   restarts.restart,
			}
			if tc.noRestart {
				set.Restart = nil
			}
			m, err := New(set)
			require.NoError(t, err)
			m.Start()
			hash := []byte("candidate")
			m.Receive(&protobufs.AgentRemoteConfig{ConfigHash: hash, Config: &protobufs.AgentConfigMap{
				ConfigMap: map[string]*protobufs.AgentConfigFile{"": {Body: []byte("exporters:\n  nop:\n")}},
			}})
			require.Eventually(t, func() bool { return reloads.Load() == 1 }, 5*time.Second, time.Millisecond, "the apply reloads")
			assert.False(t, m.Shutdown(), "the reload stops the instance that started the apply")
			if tc.sigterm {
				sigtermSelf(t)
			}
			if tc.nextStarts {
				local()
				later := set
				later.ApplyTimeout = time.Minute
				next, err := New(later)
				require.NoError(t, err)
				next.Start()
				time.Sleep(2 * timeout) // healthy only past the watchdog's deadline
				next.Ready()
				defer next.Shutdown()
			}
			time.Sleep(3 * timeout) // past the watchdog's deadline
			assert.Equal(t, tc.wantRestarts, restarts.calls.Load(), "restarts")
			assert.Equal(t, tc.wantReloads, reloads.Load(), "reloads")
			st, err := s.load()
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus.String(), st.Status.Status)
			if tc.wantStatus == failed {
				assert.Nil(t, st.Candidate)
				assert.Contains(t, st.Status.Error, "not healthy within 200ms: its extensions did not finish starting")
			}
			if r := restarts.at.Load(); r != nil {
				assert.Nil(t, r.Candidate, "the candidate is dropped before the exec")
				assert.Equal(t, failed.String(), r.Status.Status)
				assert.Equal(t, hash, r.Restarted, "the restart is recorded before it happens")
			}
			disarmWatchdog(dir) // the case without one leaves nothing behind
		})
	}
}
