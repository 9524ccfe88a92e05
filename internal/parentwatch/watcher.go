// Package parentwatch ends the Collector when the process that launched it
// (normally the OpAMP Supervisor, configured through `ppid`) is gone.
//
// A Collector left running after its Supervisor died can no longer be
// managed, so it should stop rather than linger. The Watcher polls the
// watched process and calls back once when it has exited, is a zombie, or is
// no longer our parent; the caller turns that into a fatal component status,
// which makes the Collector shut down with a non-zero exit.
//
// Only unix platforms are supported (see Supported); elsewhere New returns
// an error so that configuration validation can reject `ppid`.
package parentwatch // import "github.com/opampext/opampextension/internal/parentwatch"

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Reason says why the watched process is considered gone.
type Reason string

const (
	// ReasonExited: the process no longer exists.
	ReasonExited Reason = "exited"
	// ReasonZombie: the process has terminated but was not reaped yet.
	ReasonZombie Reason = "zombie"
	// ReasonReparented: the watched process was our parent at start and no
	// longer is, which happens exactly when it terminates.
	ReasonReparented Reason = "re-parented"
)

// OrphanedError is passed to the onOrphaned callback. It is a type so that
// callers can inspect the pid and reason with errors.As.
type OrphanedError struct {
	PID    int
	Reason Reason
}

func (e *OrphanedError) Error() string {
	switch e.Reason {
	case ReasonReparented:
		return fmt.Sprintf("parent process %d is gone: this process was re-parented", e.PID)
	case ReasonZombie:
		return fmt.Sprintf("parent process %d is gone: it is a zombie", e.PID)
	default:
		return fmt.Sprintf("parent process %d is gone: it %s", e.PID, e.Reason)
	}
}

// probeFunc checks the watched process. alive=false means it is gone, for
// the given reason. A non-nil error means the check could not be made; the
// process is then assumed alive and checked again at the next tick.
type probeFunc func(pid int) (alive bool, reason Reason, err error)

// Watcher polls one process and reports once when it is gone.
type Watcher struct {
	pid        int
	interval   time.Duration
	logger     *zap.Logger
	onOrphaned func(error)
	probe      probeFunc

	stop   chan struct{} // closed by the first Stop
	polled chan struct{} // closed when the poll loop has ended

	mu      sync.Mutex
	started bool
	stopped bool
}

// New returns a Watcher for pid polled every interval. onOrphaned is called
// at most once, from the Watcher's goroutine, with an *OrphanedError.
// On platforms where Supported is false, New returns an error.
func New(pid int, interval time.Duration, logger *zap.Logger, onOrphaned func(error)) (*Watcher, error) {
	if err := validate(pid, interval, onOrphaned); err != nil {
		return nil, err
	}
	probe, err := newProbe(pid)
	if err != nil {
		return nil, err
	}
	return newWithProbe(pid, interval, logger, onOrphaned, probe), nil
}

func validate(pid int, interval time.Duration, onOrphaned func(error)) error {
	var errs []error
	if pid <= 0 {
		errs = append(errs, fmt.Errorf("ppid: must be a positive process id, got %d", pid))
	}
	if interval <= 0 {
		errs = append(errs, fmt.Errorf("ppid_poll_interval: must be positive, got %s", interval))
	}
	if onOrphaned == nil {
		errs = append(errs, errors.New("parentwatch: onOrphaned callback must not be nil"))
	}
	return errors.Join(errs...)
}

func newWithProbe(pid int, interval time.Duration, logger *zap.Logger, onOrphaned func(error), probe probeFunc) *Watcher {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Watcher{
		pid:        pid,
		interval:   interval,
		logger:     logger.With(zap.Int("ppid", pid)),
		onOrphaned: onOrphaned,
		probe:      probe,
		stop:       make(chan struct{}),
		polled:     make(chan struct{}),
	}
}

// Start launches the polling goroutine. The first check happens at once, so
// a parent that died before the Collector started is noticed immediately.
// Calling Start again, or after Stop, does nothing.
func (w *Watcher) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.stopped {
		return
	}
	w.started = true
	go w.run()
}

// Stop ends polling and waits until the poll loop has returned. It is safe
// to call more than once, concurrently, and without Start.
//
// Stop does not wait for a running onOrphaned callback: the callback reports
// a fatal error on an unbuffered channel that the Collector only drains from
// its main loop, and that loop may itself be the caller of Stop (through the
// extension's Shutdown), so waiting could hang the Collector's shutdown.
func (w *Watcher) Stop() {
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.stop)
	}
	started := w.started
	w.mu.Unlock()
	if started {
		<-w.polled
	}
}

func (w *Watcher) run() {
	orphanErr := w.poll()
	close(w.polled)
	if orphanErr != nil {
		// Not logged here: the callback decides what the loss means and
		// says so (the extension reports a fatal error, which the
		// Collector logs itself).
		w.onOrphaned(orphanErr)
	}
}

// poll returns the orphan error on detection, or nil when stopped.
func (w *Watcher) poll() error {
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	failing := false
	for {
		alive, reason, err := w.probe(w.pid)
		switch {
		case err != nil:
			// Log the first failure of a streak loudly and repeats quietly,
			// so a persistent problem does not flood the log every tick.
			if failing {
				w.logger.Debug("Cannot check parent process", zap.Error(err))
			} else {
				w.logger.Warn("Cannot check parent process; will retry", zap.Error(err))
			}
			failing = true
		case !alive:
			return &OrphanedError{PID: w.pid, Reason: reason}
		default:
			failing = false
		}
		select {
		case <-w.stop:
			return nil
		case <-ticker.C:
		}
		// Prefer stopping over one more probe when both are ready.
		select {
		case <-w.stop:
			return nil
		default:
		}
	}
}
