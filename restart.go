package opampextension

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// restartDelay leaves the Collector time to finish its start-up path (its
// SIGHUP handler is installed just after the extensions are told Ready).
const restartDelay = 250 * time.Millisecond

// lifePhase is where the Collector is, as far as a restart cares.
type lifePhase int

const (
	phaseStarting lifePhase = iota // before Ready: a restart waits for it
	phaseReady                     // between Ready and NotReady
	phaseStopping                  // from NotReady: a reload or the end is under way
)

// restarter runs the server's restart commands (a reload through SIGHUP):
// shortly after the command once the Collector is ready, at Ready when it
// comes during start-up, and never once the Collector is stopping, which
// a reload or the end of the process already is. No reload is sent after
// NotReady or Shutdown: a timer still pending then is cancelled, so a
// stale restart cannot reload the next instance. Every dropped restart is
// logged.
type restarter struct {
	logger *zap.Logger
	reload func() error // reload.Self; tests count calls instead

	mu      sync.Mutex
	phase   lifePhase
	pending bool        // asked for during start-up
	timer   *time.Timer // a scheduled reload, nil when none
}

func newRestarter(logger *zap.Logger, reload func() error) *restarter {
	return &restarter{logger: logger, reload: reload}
}

// request handles a restart command.
func (r *restarter) request() {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.phase {
	case phaseStarting:
		// Before the Collector's SIGHUP handler exists a reload would be
		// lost (or, without reload's guard, fatal): run it once ready.
		r.logger.Info("The OpAMP server asked for a restart while the Collector is starting; restarting once it is ready")
		r.pending = true
	case phaseReady:
		r.scheduleLocked()
	default:
		r.logger.Info("The OpAMP server asked for a restart while the Collector is stopping; not restarting it again")
	}
}

// ready runs at Ready: a restart asked for during start-up runs now.
func (r *restarter) ready() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phase = phaseReady
	if r.pending {
		r.pending = false
		r.scheduleLocked()
	}
}

// stopping runs at NotReady and at Shutdown: from then on no reload is
// sent, and one not sent yet is dropped.
func (r *restarter) stopping() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phase = phaseStopping
	// fire clears timer when it sends: one still set has not sent.
	dropped := r.pending || r.timer != nil
	r.pending = false
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if dropped {
		r.logger.Info("Dropping the restart the OpAMP server asked for: the Collector is stopping already")
	}
}

func (r *restarter) scheduleLocked() {
	if r.timer != nil {
		return // one reload serves every restart asked for meanwhile
	}
	r.logger.Info("The OpAMP server asked for a restart; reloading the Collector")
	// Shortly, off the client's goroutine and after the Collector has left
	// its start-up path.
	r.timer = time.AfterFunc(restartDelay, r.fire)
}

// fire sends the reload unless the Collector began stopping meanwhile. It
// holds the lock while sending (a signal, which does not block), so that
// no reload goes out once stopping has returned.
func (r *restarter) fire() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.phase != phaseReady {
		return // stopping came first, and logged the drop
	}
	r.timer = nil
	if err := r.reload(); err != nil {
		r.logger.Error("Cannot restart the Collector", zap.Error(err))
	}
}
