//go:build unix

package remoteconfig

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestRollbackRestartsStuckStart: an apply whose reloaded service never
// became ready (its Start blocks, so core never handles the rollback's
// reload) is rolled back by executing the process again, once, with the
// candidate already FAILED on disk and the restart recorded; a reload
// remains the way back when the service did start, after a termination
// signal, for a candidate restarted for before, without Settings.Restart,
// and when the exec fails.
func TestRollbackRestartsStuckStart(t *testing.T) {
	hash := []byte("stuck")
	for _, tc := range []struct {
		name         string
		ready        bool // the pipelines became ready, one component in error
		sigterm      bool
		restartedFor []byte
		noRestart    bool
		restartErr   error
		wantRestarts int64
		wantReloads  int64
		wantLog      string
	}{
		{name: "never ready", wantRestarts: 1, wantLog: "restarting the process on the last healthy configuration"},
		{name: "ready, a component in error", ready: true, wantReloads: 1},
		{name: "termination signal during the apply", sigterm: true, wantReloads: 1, wantLog: "asked to end"},
		{name: "restarted for this candidate before", restartedFor: hash, wantReloads: 1},
		{name: "no restart func", noRestart: true, wantReloads: 1},
		{name: "the exec fails", restartErr: errors.ErrUnsupported, wantRestarts: 1, wantReloads: 1, wantLog: "Cannot restart the process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(resetTermination)
			dir, s := applyingState(t, hash, tc.restartedFor)
			var reloads atomic.Int64
			restarts := &recordingRestart{store: s, err: tc.restartErr}
			core, logs := observer.New(zap.InfoLevel)
			set := Settings{
				Logger: zap.New(core), Dir: dir, ApplyTimeout: 100 * time.Millisecond, RestartOnFailedStart: true,
				Reload:  func() error { reloads.Add(1); return nil },
				Restart: restarts.restart,
			}
			if tc.noRestart {
				set.Restart = nil
			}
			m, err := New(set)
			require.NoError(t, err)
			m.Start()
			if tc.ready {
				readyWithError(m)
			}
			if tc.sigterm {
				sigtermSelf(t)
			}
			require.Eventually(t, func() bool { return restarts.calls.Load()+reloads.Load() > 0 }, 5*time.Second, time.Millisecond)
			time.Sleep(200 * time.Millisecond) // nothing more happens
			assert.False(t, m.Shutdown(), "the apply was decided before Shutdown")

			assert.Equal(t, tc.wantRestarts, restarts.calls.Load(), "restarts")
			assert.Equal(t, tc.wantReloads, reloads.Load(), "reloads")
			if st := restarts.at.Load(); st != nil {
				assert.Nil(t, st.Candidate, "the candidate is dropped before the exec")
				assert.Equal(t, failed.String(), st.Status.Status)
				assert.Equal(t, hash, st.Status.Hash)
				assert.Contains(t, st.Status.Error, "not healthy within 100ms")
				assert.Equal(t, hash, st.Restarted, "the restart is recorded before it happens")
			}
			st, err := s.load()
			require.NoError(t, err)
			assert.Nil(t, st.Candidate)
			assert.Equal(t, failed.String(), st.Status.Status)
			if tc.wantRestarts == 0 {
				assert.Equal(t, tc.restartedFor, st.Restarted, "no restart recorded")
			}
			if tc.wantLog != "" {
				assert.NotZero(t, logs.FilterMessageSnippet(tc.wantLog).Len(), "logged: %s", tc.wantLog)
			}
		})
	}
}

// applyingState is a state directory whose candidate (hash) this process
// wrote and its reload loaded: the new instance continues the apply.
func applyingState(t *testing.T, hash, restartedFor []byte) (string, *store) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	s, err := openStore(dir)
	require.NoError(t, err)
	_, err = s.update(func(st *State) bool {
		st.Active = &Config{Hash: []byte("good"), Files: map[string]File{"": {Body: "{}"}}}
		st.Candidate, st.Owner, st.Loaded = &Config{Hash: hash}, processToken, true
		st.Status = status(hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING, "")
		st.Restarted = restartedFor
		return true
	})
	require.NoError(t, err)
	return dir, s
}

// readyWithError: the pipelines are ready but not healthy, one component
// in error.
func readyWithError(m *Manager) {
	id := componentstatus.NewInstanceID(component.MustNewID("listen"), component.KindReceiver)
	m.ComponentStatusChanged(id, componentstatus.NewRecoverableErrorEvent(errors.New("down")))
	m.Ready()
}

// sigtermSelf sends the test process SIGTERM during an apply (the apply
// watches it; resetTermination forgets it).
func sigtermSelf(t *testing.T) {
	t.Helper()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	require.Eventually(t, terminationSeen, 5*time.Second, time.Millisecond)
}

// recordingRestart is a Settings.Restart that counts its calls, keeps the
// state on disk at the last one and returns err.
type recordingRestart struct {
	store *store
	err   error
	calls atomic.Int64
	at    atomic.Pointer[State]
}

func (r *recordingRestart) restart() error {
	r.calls.Add(1)
	if st, err := r.store.load(); err == nil {
		r.at.Store(&st)
	}
	return r.err
}
