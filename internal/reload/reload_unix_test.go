//go:build unix

package reload

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSupported(t *testing.T) {
	assert.NoError(t, Supported())
}

func TestSelfDeliversSIGHUP(t *testing.T) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)

	for i := range 2 {
		require.NoError(t, Self())
		select {
		case s := <-ch:
			assert.Equal(t, syscall.SIGHUP, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("SIGHUP %d not received", i+1)
		}
	}
}

// TestEarlySIGHUP runs this binary as a process with no SIGHUP subscriber,
// as a Collector is until otelcol's Run loop starts: a bare SIGHUP kills it,
// while Self leaves it running.
func TestEarlySIGHUP(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	tests := []struct {
		mode       string
		wantKilled bool
	}{
		{mode: modeRaw, wantKilled: true},
		{mode: modeSelf, wantKilled: false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cmd := exec.Command(self)
			cmd.Env = append(os.Environ(), helperEnv+"="+tt.mode)
			err := cmd.Run()
			if !tt.wantKilled {
				require.NoError(t, err)
				return
			}
			var exitErr *exec.ExitError
			require.ErrorAs(t, err, &exitErr)
			ws, ok := exitErr.Sys().(syscall.WaitStatus)
			require.True(t, ok)
			assert.True(t, ws.Signaled(), "want death by signal, got %v", ws)
			assert.Equal(t, syscall.SIGHUP, ws.Signal())
		})
	}
}
