//go:build unix

package reload

import (
	"os"
	"syscall"
	"time"
)

// helperEnv makes the test binary act as a fresh process that has not
// subscribed to SIGHUP, like a Collector before otelcol's Run loop starts.
const helperEnv = "RELOAD_HELPER_MODE"

const (
	modeSelf = "self" // use Self
	modeRaw  = "raw"  // send SIGHUP without Self's guard
)

func runHelper(mode string) int {
	var err error
	switch mode {
	case modeSelf:
		err = Self()
	case modeRaw:
		err = syscall.Kill(os.Getpid(), syscall.SIGHUP)
	default:
		return 3
	}
	if err != nil {
		return 2
	}
	// Give the signal time to be delivered before exiting normally.
	time.Sleep(200 * time.Millisecond)
	return 0
}
