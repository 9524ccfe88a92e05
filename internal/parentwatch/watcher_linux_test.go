//go:build linux

package parentwatch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

// realInterval is long enough for a loaded CI machine to poll on time, and
// slack covers scheduling delay on top of the two-interval guarantee.
const (
	realInterval = 200 * time.Millisecond
	slack        = 150 * time.Millisecond
)

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	return cmd
}

// watch starts a real Watcher on pid and returns a channel with its report.
func watch(t *testing.T, pid int) (*Watcher, <-chan error) {
	t.Helper()
	found := make(chan error, 1)
	w, err := New(pid, realInterval, zaptest.NewLogger(t), func(err error) { found <- err })
	require.NoError(t, err)
	w.Start()
	t.Cleanup(w.Stop)
	return w, found
}

func requireReason(t *testing.T, found <-chan error, pid int, want Reason, within time.Duration) {
	t.Helper()
	select {
	case err := <-found:
		var oe *OrphanedError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, pid, oe.PID)
		assert.Equal(t, want, oe.Reason)
	case <-time.After(within):
		t.Fatalf("not detected as %s within %s", want, within)
	}
}

func TestZombieRealProcess(t *testing.T) {
	cmd := startSleep(t)
	pid := cmd.Process.Pid
	_, found := watch(t, pid)

	// Let a poll or two see it alive, then kill it but do not reap it.
	time.Sleep(realInterval + realInterval/2)
	select {
	case err := <-found:
		t.Fatalf("live process reported: %v", err)
	default:
	}
	require.NoError(t, cmd.Process.Kill())
	requireReason(t, found, pid, ReasonZombie, 2*realInterval+slack)

	var exitErr *exec.ExitError
	require.ErrorAs(t, cmd.Wait(), &exitErr, "reap only after detection")
}

func TestExitedRealProcess(t *testing.T) {
	cmd := startSleep(t)
	pid := cmd.Process.Pid
	require.NoError(t, cmd.Process.Kill())
	var exitErr *exec.ExitError
	require.ErrorAs(t, cmd.Wait(), &exitErr)

	_, found := watch(t, pid)
	requireReason(t, found, pid, ReasonExited, 2*realInterval+slack)
}

func TestLiveRealProcessNotReported(t *testing.T) {
	cmd := startSleep(t)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	w, found := watch(t, cmd.Process.Pid)

	select {
	case err := <-found:
		t.Fatalf("live process reported: %v", err)
	case <-time.After(5 * realInterval):
	}
	w.Stop()
	assert.Empty(t, found)
}

// TestReparentedRealProcess runs this test binary as a helper under a shell
// that exits once the helper watches it, as a Supervisor dying would. The
// shell is not reaped until the helper reports, so it stays a zombie and the
// helper must notice the re-parenting.
func TestReparentedRealProcess(t *testing.T) {
	dir := t.TempDir()
	result := filepath.Join(dir, "result")
	ready := filepath.Join(dir, "ready")
	self, err := os.Executable()
	require.NoError(t, err)

	cmd := exec.Command("sh", "-c", `"$0" & while [ ! -e "$1" ]; do sleep 0.01; done`, self, ready)
	cmd.Env = append(os.Environ(), helperEnv+"="+result, helperReadyEnv+"="+ready)
	require.NoError(t, cmd.Start())

	var got []byte
	require.Eventually(t, func() bool {
		got, err = os.ReadFile(result)
		return err == nil || !errors.Is(err, os.ErrNotExist)
	}, 15*time.Second, 20*time.Millisecond)
	require.NoError(t, err)
	require.NoError(t, cmd.Wait())
	assert.Equal(t, string(ReasonReparented), string(got))
}
