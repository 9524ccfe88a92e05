//go:build unix

package parentwatch

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProbeUnix(t *testing.T) {
	self := os.Getpid()
	notZombie := func(int) (bool, error) { return false, nil }
	tests := []struct {
		name       string
		pid        int
		wasParent  bool
		ppid       int
		zombie     func(int) (bool, error)
		wantAlive  bool
		wantReason Reason
		wantErr    bool
	}{
		{name: "alive, not our parent", pid: self, ppid: 99, zombie: notZombie, wantAlive: true},
		{name: "still our parent", pid: self, wasParent: true, ppid: self, zombie: notZombie, wantAlive: true},
		{name: "re-parented", pid: self, wasParent: true, ppid: 1, zombie: notZombie, wantReason: ReasonReparented},
		{name: "zombie", pid: self, ppid: 99, zombie: func(int) (bool, error) { return true, nil }, wantReason: ReasonZombie},
		{
			name: "state unreadable", pid: self, ppid: 99, wantAlive: true, wantErr: true,
			zombie: func(int) (bool, error) { return false, errors.New("no /proc") },
		},
		// As non-root kill(1, 0) fails with EPERM, which still means alive.
		{name: "init", pid: 1, ppid: 99, zombie: notZombie, wantAlive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alive, reason, err := probeUnix(tt.pid, tt.wasParent, func() int { return tt.ppid }, tt.zombie)
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantAlive, alive)
			assert.Equal(t, tt.wantReason, reason)
		})
	}
}

func TestNewProbeOnOurParentIsAlive(t *testing.T) {
	probe, err := newProbe(os.Getppid())
	require.NoError(t, err)
	alive, reason, err := probe(os.Getppid())
	require.NoError(t, err)
	assert.True(t, alive, "reason %q", reason)
}
