//go:build unix

package remoteconfig

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// TestShutdownRestart: only the reloaded instance that failed to start,
// with no termination signal during the apply, asks for the process to
// be executed again, once per candidate, after the candidate is FAILED on
// disk.
func TestShutdownRestart(t *testing.T) {
	hash := []byte("candidate")
	for _, tc := range []struct {
		name string
		// noCandidate: the process starts on the last healthy config.
		noCandidate   bool
		restartedFor  []byte
		disabled      bool
		ready         bool // the pipelines became ready before Shutdown
		sigterm       bool
		want          bool
		wantStatus    protobufs.RemoteConfigStatuses
		wantErrPrefix string
	}{
		{name: "failed start", want: true, wantStatus: failed, wantErrPrefix: "the Collector could not start"},
		{name: "termination signal during the apply", sigterm: true, wantStatus: failed},
		{name: "shutdown after ready (a reload, a stop)", ready: true, wantStatus: failed, wantErrPrefix: "the Collector stopped before"},
		{name: "already restarted for this candidate", restartedFor: hash, wantStatus: failed},
		{name: "restart not allowed", disabled: true, wantStatus: failed},
		{name: "the last healthy config fails to start", noCandidate: true, wantStatus: applied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(resetTermination)
			dir := filepath.Join(t.TempDir(), "state")
			s, err := openStore(dir)
			require.NoError(t, err)
			_, err = s.update(func(st *State) bool {
				st.Active = &Config{Hash: []byte("good"), Files: map[string]File{"": {Body: "{}"}}}
				st.Status = status([]byte("good"), applied, "")
				st.Restarted = tc.restartedFor
				if !tc.noCandidate {
					st.Candidate, st.Owner, st.Loaded = &Config{Hash: hash}, processToken, true
					st.Status = status(hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING, "")
				}
				return true
			})
			require.NoError(t, err)
			m, err := New(Settings{Dir: dir, ApplyTimeout: time.Minute, RestartOnFailedStart: !tc.disabled})
			require.NoError(t, err)
			m.Start()
			if tc.ready {
				// Ready but not healthy: a component in error.
				id := componentstatus.NewInstanceID(component.MustNewID("listen"), component.KindReceiver)
				m.ComponentStatusChanged(id, componentstatus.NewRecoverableErrorEvent(errors.New("down")))
				m.Ready()
			}
			if tc.sigterm {
				require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
				require.Eventually(t, terminationSeen, 5*time.Second, time.Millisecond)
			}
			assert.Equal(t, tc.want, m.Shutdown())

			st, err := s.load()
			require.NoError(t, err)
			assert.Nil(t, st.Candidate)
			assert.Equal(t, tc.wantStatus.String(), st.Status.Status)
			assert.Contains(t, st.Status.Error, tc.wantErrPrefix)
			if tc.want {
				assert.Equal(t, hash, st.Restarted, "the restart is recorded before it happens")
			} else {
				assert.Equal(t, tc.restartedFor, st.Restarted)
			}
			termination.mu.Lock()
			assert.Nil(t, termination.ch, "signals are watched only during an apply")
			termination.mu.Unlock()
		})
	}
}

const (
	applied = protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED
	failed  = protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED
)

// resetTermination forgets a signal a test sent itself.
func resetTermination() {
	unwatchTermination()
	termination.mu.Lock()
	termination.seen = false
	termination.mu.Unlock()
}
