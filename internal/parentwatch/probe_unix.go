//go:build unix

package parentwatch // import "github.com/opampext/opampextension/internal/parentwatch"

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Supported reports whether parent watching works on this platform.
func Supported() bool { return true }

// newProbe returns the unix probe. It records now whether pid is our parent,
// so that later re-parenting (which the kernel does as soon as the parent
// terminates, before it is reaped) reveals the parent's death even where
// zombies cannot be detected directly.
func newProbe(pid int) (probeFunc, error) {
	wasParent := os.Getppid() == pid
	return func(pid int) (bool, Reason, error) {
		return probeUnix(pid, wasParent, os.Getppid, isZombie)
	}, nil
}

func probeUnix(pid int, wasParent bool, getppid func() int, zombie func(int) (bool, error)) (bool, Reason, error) {
	// Signal 0 checks existence without sending anything. EPERM means the
	// process exists but belongs to another user: alive.
	if err := syscall.Kill(pid, 0); err != nil {
		switch {
		case errors.Is(err, syscall.ESRCH):
			return false, ReasonExited, nil
		case !errors.Is(err, syscall.EPERM):
			return true, "", fmt.Errorf("checking process %d: %w", pid, err)
		}
	}
	if wasParent && getppid() != pid {
		return false, ReasonReparented, nil
	}
	z, err := zombie(pid)
	if err != nil {
		return true, "", err
	}
	if z {
		return false, ReasonZombie, nil
	}
	return true, "", nil
}
