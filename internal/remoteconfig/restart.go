package remoteconfig

import (
	"os"
	"os/signal"
	"sync"
)

// A reload whose new service cannot start (a port in use) makes core's
// Collector.Run return its error, and the process exits: the Collector
// would stay down because of a remote config. The instance that failed
// to start therefore asks for the process to be executed again, in place,
// once the candidate is marked FAILED on disk: the new process image
// resolves the last healthy configuration. It never does so after the
// operator asked the process to end (SIGTERM, SIGINT), and at most once
// per candidate.

// termination records whether the process was asked to end while an
// apply was under way. The subscription is held only during an apply: a
// program that does not subscribe to SIGTERM itself (otelcol with
// DisableGracefulShutdown) would otherwise never end on it. The channel
// is buffered and read without blocking, so no goroutine is needed.
var termination struct {
	mu   sync.Mutex
	ch   chan os.Signal
	seen bool
}

// watchTermination subscribes to the termination signals; idempotent.
func watchTermination() {
	termination.mu.Lock()
	defer termination.mu.Unlock()
	if termination.ch != nil {
		return
	}
	termination.ch = make(chan os.Signal, 1)
	signal.Notify(termination.ch, terminationSignals...)
}

// unwatchTermination ends the subscription, keeping what it saw.
func unwatchTermination() {
	termination.mu.Lock()
	defer termination.mu.Unlock()
	if termination.ch == nil {
		return
	}
	drainTerminationLocked()
	signal.Stop(termination.ch)
	termination.ch = nil
}

// terminationSeen: a termination signal arrived during an apply of this
// process.
func terminationSeen() bool {
	termination.mu.Lock()
	defer termination.mu.Unlock()
	drainTerminationLocked()
	return termination.seen
}

func drainTerminationLocked() {
	if termination.ch == nil {
		return
	}
	select {
	case <-termination.ch:
		termination.seen = true
	default:
	}
}

// Reexec replaces the process image with the same binary, argv and
// environment (same PID). It returns only on failure; on platforms
// without exec it returns errors.ErrUnsupported.
func Reexec() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return execSelf(exe, os.Args, os.Environ())
}
