//go:build unix

package reload // import "github.com/opampext/opampextension/internal/reload"

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var guardOnce sync.Once

// Supported returns nil: unix Collectors reload on SIGHUP.
func Supported() error { return nil }

// Self asks the running Collector to reload by sending SIGHUP to this
// process. It returns once the signal is sent; the reload happens later on
// the Collector's main loop.
func Self() error {
	guardOnce.Do(func() {
		// Nobody reads this channel; signal delivery never blocks on a full
		// one. Its only job is to keep SIGHUP from being fatal.
		signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	})
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		return fmt.Errorf("sending SIGHUP to self: %w", err)
	}
	return nil
}
