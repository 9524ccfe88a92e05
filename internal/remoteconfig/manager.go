package remoteconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
)

// Settings configure a Manager.
type Settings struct {
	Logger *zap.Logger
	// Dir is the state directory.
	Dir   string
	Rules Rules
	// Validator checks a merged config before anything changes.
	Validator Validator
	// Reload makes the Collector resolve its config again and rebuild its
	// service in-process (reload.Self: SIGHUP).
	Reload func() error
	// RestartOnFailedStart: Shutdown may ask for the process to be
	// executed again when the reloaded service failed to start (unix).
	RestartOnFailedStart bool
	// ApplyTimeout bounds how long a reloaded Collector has to become
	// healthy before it is rolled back.
	ApplyTimeout time.Duration
	// Report hands a status to the OpAMP client; nil when the agent does
	// not report remote config status.
	Report func(*protobufs.RemoteConfigStatus)
}

// Manager is one extension instance's part of the remote config: it
// takes the server's configs, and, when its instance is the one an apply
// reloaded into, watches the Collector's health to confirm or roll back.
type Manager struct {
	set   Settings
	store *store
	hw    healthWatch

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	pending *protobufs.AgentRemoteConfig // latest not yet handled
	started bool
	// handedOff: this instance started a reload; configs that arrive
	// after it belong to the next instance.
	handedOff bool
}

// handoffs carries, per state directory, a config that arrived while a
// reload was under way, to the instance the reload builds.
var (
	handoffsMu sync.Mutex
	handoffs   = map[string]*protobufs.AgentRemoteConfig{}
)

// New opens the state directory.
func New(set Settings) (*Manager, error) {
	s, err := openStore(set.Dir)
	if err != nil {
		return nil, err
	}
	if set.Logger == nil {
		set.Logger = zap.NewNop()
	}
	m := &Manager{
		set: set, store: s,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	m.hw.init()
	return m, nil
}

// Start reports the stored status and, when this instance continues an
// apply (the converter loaded this process's candidate), starts the
// health watch; configs are handled from now on.
func (m *Manager) Start() {
	st, err := m.store.load()
	if err != nil {
		m.set.Logger.Warn("Cannot read the remote configuration state", zap.Error(err))
	}
	switch {
	case st.Candidate != nil && st.Owner == processToken && st.Loaded:
		watchTermination()
		m.hw.arm(m.set.ApplyTimeout, m.poke)
		m.set.Logger.Info("Applying the remote configuration: waiting for the Collector to become healthy",
			zap.Duration("timeout", m.set.ApplyTimeout))
	case st.Candidate != nil && st.Owner == processToken:
		st, err = m.store.update(func(st *State) bool {
			st.Status = status(st.Candidate.Hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, errNoConverter.Error())
			st.dropCandidate()
			return true
		})
		if err != nil {
			m.set.Logger.Warn("Cannot save the remote configuration state", zap.Error(err))
		} else {
			countStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, false, time.Time{})
		}
		unwatchTermination()
	}
	m.report(st.Status)
	handoffsMu.Lock()
	if rc := handoffs[m.set.Dir]; rc != nil {
		delete(handoffs, m.set.Dir)
		m.pending = rc
	}
	handoffsMu.Unlock()
	m.mu.Lock()
	m.started = true
	m.mu.Unlock()
	go m.run()
	m.poke()
}

// Receive takes a config from the server without blocking; the latest
// one wins over any not handled yet.
func (m *Manager) Receive(rc *protobufs.AgentRemoteConfig) {
	counts.received.Add(1)
	m.mu.Lock()
	if m.handedOff {
		m.mu.Unlock()
		handoffsMu.Lock()
		handoffs[m.set.Dir] = rc
		handoffsMu.Unlock()
		return
	}
	m.pending = rc
	m.mu.Unlock()
	m.poke()
}

// Shutdown stops the manager. An apply not confirmed healthy by now has
// failed: the candidate is dropped, so the next resolve (a reload, or the
// next start after a reload that ended the process) runs the last healthy
// configuration.
//
// restart tells the caller to execute the process again (Reexec) once it
// has stopped what it runs: this instance is the reloaded service that
// failed to start (core's Run returns that error and the process would
// exit), no termination signal arrived during the apply, and the state on
// disk shows the candidate FAILED and records this restart, so a process
// restarted for a candidate is never restarted for it again.
func (m *Manager) Shutdown() (restart bool) {
	m.mu.Lock()
	started := m.started
	m.mu.Unlock()
	if !started {
		return false
	}
	m.once.Do(func() { close(m.stop) })
	<-m.done
	undecided, neverReady := m.hw.disarm()
	if !undecided {
		return false
	}
	why := "the Collector stopped before it was healthy with this configuration: " + m.hw.why()
	if neverReady {
		why = "the Collector could not start with this configuration: " + m.hw.why()
	}
	hash := m.fail(why)
	if !neverReady || hash == nil {
		return false
	}
	if terminationSeen() {
		m.set.Logger.Info("The process was asked to end during the apply: not restarting it")
		return false
	}
	if !m.set.RestartOnFailedStart {
		return false
	}
	_, err := m.store.update(func(st *State) bool {
		if st.Status.Status != protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED.String() ||
			!bytes.Equal(st.Status.Hash, hash) || bytes.Equal(st.Restarted, hash) {
			return false
		}
		st.Restarted = bytes.Clone(hash)
		restart = true
		return true
	})
	if err != nil {
		m.set.Logger.Error("Cannot save the remote configuration state: not restarting the process", zap.Error(err))
		return false
	}
	return restart
}

func (m *Manager) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Manager) run() {
	defer close(m.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-m.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-m.stop:
			return
		case <-m.kick:
		}
		switch m.hw.verdict() {
		case verdictHealthy:
			m.confirm()
		case verdictTimedOut:
			m.rollback()
		case verdictWaiting:
			continue // configs wait for the apply under way
		}
		m.mu.Lock()
		rc := m.pending
		m.pending = nil
		handedOff := m.handedOff
		m.mu.Unlock()
		if rc != nil && !handedOff {
			m.handle(ctx, rc)
		}
	}
}

// confirm makes the candidate the active config: APPLIED.
func (m *Manager) confirm() {
	defer unwatchTermination()
	var since time.Time
	st, err := m.store.update(func(st *State) bool {
		if st.Candidate == nil {
			return false
		}
		st.Active = st.Candidate
		if len(st.Active.Files) == 0 {
			st.Active = nil // the local config alone
		}
		st.Status = status(st.Candidate.Hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, "")
		since = st.Since
		st.dropCandidate()
		return true
	})
	if err != nil {
		m.set.Logger.Error("Cannot save the applied remote configuration", zap.Error(err))
		return
	}
	countStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, false, since)
	m.set.Logger.Info("Applied the remote configuration: the Collector is healthy", zap.Duration("took", m.hw.elapsed()))
	m.report(st.Status)
}

// rollback drops the candidate and reloads into the last healthy config.
func (m *Manager) rollback() {
	why := fmt.Sprintf("the Collector was not healthy within %s: %s", m.set.ApplyTimeout, m.hw.why())
	m.fail(why)
	m.set.Logger.Warn("Rolling back the remote configuration", zap.String("reason", why))
	m.reload()
}

// fail drops the candidate and reports FAILED with why; it returns the
// failed candidate's hash, nil when there was none. The apply is over, so
// termination signals are no longer watched.
func (m *Manager) fail(why string) (hash []byte) {
	defer unwatchTermination()
	var since time.Time
	st, err := m.store.update(func(st *State) bool {
		if st.Candidate == nil {
			return false
		}
		hash = bytes.Clone(st.Candidate.Hash)
		st.Status = status(st.Candidate.Hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, why)
		since = st.Since
		st.dropCandidate()
		return true
	})
	if err != nil {
		m.set.Logger.Error("Cannot save the remote configuration state", zap.Error(err))
	} else if hash != nil {
		countStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, true, since)
	}
	m.report(st.Status)
	return hash
}

func (m *Manager) reload() {
	m.mu.Lock()
	m.handedOff = true
	rc := m.pending
	m.pending = nil
	m.mu.Unlock()
	if rc != nil {
		handoffsMu.Lock()
		handoffs[m.set.Dir] = rc
		handoffsMu.Unlock()
	}
	if err := m.set.Reload(); err != nil {
		m.set.Logger.Error("Cannot reload the Collector", zap.Error(err))
	}
}

func (m *Manager) report(s Status) {
	if p := s.proto(); p != nil && m.set.Report != nil {
		m.set.Report(p)
	}
}

// handle takes one config from the server to FAILED, APPLIED (same
// content) or APPLYING and a reload.
func (m *Manager) handle(ctx context.Context, rc *protobufs.AgentRemoteConfig) {
	cand := &Config{Hash: bytes.Clone(rc.GetConfigHash()), Files: map[string]File{}}
	for k, f := range rc.GetConfig().GetConfigMap() {
		cand.Files[k] = File{ContentType: f.GetContentType(), Body: string(f.GetBody())}
	}
	st, err := m.store.load()
	if err != nil {
		m.set.Logger.Warn("Cannot read the remote configuration state", zap.Error(err))
	}
	if st.Status.Status != "" && bytes.Equal(st.Status.Hash, cand.Hash) {
		return // already handled: no reload for the same hash
	}
	if cand.sameContent(st.Active) {
		m.save(func(st *State) {
			if st.Active != nil {
				st.Active.Hash = cand.Hash
			}
			st.Status = status(cand.Hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, "")
		})
		return
	}
	if err := m.check(ctx, cand); err != nil {
		m.set.Logger.Warn("Refusing the remote configuration", zap.Error(err))
		m.save(func(st *State) {
			st.Status = status(cand.Hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, err.Error())
		})
		return
	}
	m.save(func(st *State) {
		st.Candidate, st.Owner, st.Loaded, st.Since = cand, processToken, false, time.Now()
		st.Status = status(cand.Hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING, "")
	})
	m.set.Logger.Info("Applying a remote configuration: reloading the Collector")
	watchTermination()
	m.reload()
}

// check refuses what the server may not send and validates the merged
// config.
func (m *Manager) check(ctx context.Context, cand *Config) error {
	local, ok := localConfig(m.set.Dir)
	if !ok {
		return errNoConverter
	}
	_, merged, err := mergeChecked(local, cand, m.set.Rules)
	if err != nil {
		return err
	}
	y, err := renderYAML(merged)
	if err != nil {
		return err
	}
	if err := m.set.Validator.Validate(ctx, y); err != nil {
		if ctx.Err() != nil {
			return errors.Join(err, ctx.Err())
		}
		return err
	}
	return nil
}

// save changes the state and reports (and counts) the status it leaves;
// these are decisions taken without a reload.
func (m *Manager) save(f func(st *State)) {
	st, err := m.store.update(func(st *State) bool { f(st); return true })
	if err != nil {
		m.set.Logger.Error("Cannot save the remote configuration state", zap.Error(err))
	} else {
		countStatus(protobufs.RemoteConfigStatuses(protobufs.RemoteConfigStatuses_value[st.Status.Status]), false, time.Time{})
	}
	m.report(st.Status)
}
