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
	// Restart executes the process again (Reexec) when an apply's
	// reloaded service has not finished starting by ApplyTimeout: core's
	// Run is then inside that service's Start and never handles the
	// reload that would roll back (stuck.go). nil: the rollback is a
	// reload only.
	Restart func() error
	// ApplyTimeout bounds how long a reloaded Collector has to become
	// healthy before it is rolled back.
	ApplyTimeout time.Duration
	// Report hands a status to the OpAMP client; nil when the agent does
	// not report remote config status.
	Report func(*protobufs.RemoteConfigStatus)
	// ReportConnection hands the status of an offer's own-telemetry part
	// to the OpAMP client; nil when the agent does not report connection
	// settings status.
	ReportConnection func(*protobufs.ConnectionSettingsStatus)
	// OwnMetricsInterval is how often own metrics are exported to an
	// offered destination; 0: the exporter's default (60s).
	OwnMetricsInterval time.Duration
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
	// pendingOwn: the latest own-telemetry offers not yet handled.
	pendingOwn *protobufs.ConnectionSettingsOffers
	started    bool
	// handedOff: this instance started a reload; configs that arrive
	// after it belong to the next instance.
	handedOff bool
}

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
	disarmWatchdog(m.set.Dir)
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
		kind := st.Kind
		st, err = m.store.update(func(st *State) bool {
			st.setCandidateStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, errNoConverter.Error())
			st.dropCandidate()
			return true
		})
		if err != nil {
			m.set.Logger.Warn("Cannot save the remote configuration state", zap.Error(err))
		} else if kind == "" {
			countStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, false, time.Time{})
		}
		unwatchTermination()
	}
	m.report(st.Status)
	m.reportOwn(st.OwnStatus)
	handoffsMu.Lock()
	if h := handoffs[m.set.Dir]; h != nil {
		delete(handoffs, m.set.Dir)
		m.pending, m.pendingOwn = h.rc, h.own
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
	m.enqueue(rc, nil)
}

// Shutdown stops the manager. An apply not confirmed healthy by now has
// failed: the candidate is dropped, so the next resolve (a reload, or the
// next start after a reload that ended the process) runs the last healthy
// configuration. An instance stopping for the reload of an apply it
// started leaves a watchdog behind, for a new service that never starts
// its opamp extension (watchdog.go).
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
	m.leaveWatchdog()
	undecided, neverReady := m.hw.disarm()
	if !undecided {
		return false
	}
	why := "the Collector stopped before it was healthy with this configuration: " + m.hw.why()
	if neverReady {
		why = "the Collector could not start with this configuration: " + m.hw.why()
	}
	hash, kind := m.fail(why)
	if !neverReady || !m.set.RestartOnFailedStart {
		return false
	}
	return m.mayRestart(hash, kind)
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
		// One at a time: what an apply leaves pending is handed to the
		// instance its reload builds, or taken on the next turn.
		m.mu.Lock()
		rc, own := m.pending, m.pendingOwn
		if rc != nil {
			m.pending, own = nil, nil
		} else {
			m.pendingOwn = nil
		}
		more := rc != nil && m.pendingOwn != nil
		handedOff := m.handedOff
		m.mu.Unlock()
		switch {
		case handedOff:
		case rc != nil:
			m.handle(ctx, rc)
		case own != nil:
			m.handleOwn(ctx, own)
		}
		if more {
			m.poke()
		}
	}
}

// confirm makes the candidate the active config: APPLIED.
func (m *Manager) confirm() {
	defer unwatchTermination()
	var since time.Time
	kind := ""
	st, err := m.store.update(func(st *State) bool {
		if st.Candidate == nil {
			return false
		}
		st.Active, kind = st.Candidate, st.Kind
		if len(st.Active.Files) == 0 && st.Active.Own.empty() {
			st.Active = nil // the local config alone
		}
		st.setCandidateStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, "")
		since = st.Since
		st.dropCandidate()
		return true
	})
	if err != nil {
		m.set.Logger.Error("Cannot save the applied remote configuration", zap.Error(err))
		return
	}
	m.removeOwnFiles(st)
	if kind == "" {
		countStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, false, since)
	}
	m.set.Logger.Info("Applied the remote configuration: the Collector is healthy", zap.String("kind", kindName(kind)), zap.Duration("took", m.hw.elapsed()))
	m.reportKind(kind, st)
}

// rollback drops the candidate and reloads into the last healthy config.
func (m *Manager) rollback() {
	why := fmt.Sprintf("the Collector was not healthy within %s: %s", m.set.ApplyTimeout, m.hw.why())
	neverReady := m.hw.neverReadied()
	hash, kind := m.fail(why)
	m.set.Logger.Warn("Rolling back the remote configuration", zap.String("reason", why))
	if neverReady && m.restartStuck(hash, kind) {
		return
	}
	m.reload()
}

// fail drops the candidate and reports FAILED with why; it returns the
// hash of the failed candidate's status (nil when there was none) and its
// kind. The apply is over, so termination signals are no longer watched.
func (m *Manager) fail(why string) (hash []byte, kind string) {
	defer unwatchTermination()
	var since time.Time
	st, err := m.store.update(func(st *State) bool {
		if st.Candidate == nil {
			return false
		}
		kind = st.Kind
		st.setCandidateStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, why)
		hash = bytes.Clone(st.statusOf(kind).Hash)
		if hash == nil {
			hash = []byte{} // a candidate without a hash failed too
		}
		since = st.Since
		st.dropCandidate()
		return true
	})
	if err != nil {
		m.set.Logger.Error("Cannot save the remote configuration state", zap.Error(err))
	} else if hash != nil && kind == "" {
		countStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, true, since)
	}
	m.removeOwnFiles(st)
	m.reportKind(kind, st)
	return hash, kind
}

func (m *Manager) reload() {
	m.mu.Lock()
	m.handedOff = true
	rc, own := m.pending, m.pendingOwn
	m.pending, m.pendingOwn = nil, nil
	m.mu.Unlock()
	if rc != nil || own != nil {
		handOff(m.set.Dir, rc, own)
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
	cand.Own = st.Active.own() // the own-telemetry layer stays
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
	_, merged, err := mergeChecked(local, cand.files(), m.set.Rules)
	if err != nil {
		return err
	}
	lt := localTarget(m.set.Dir)
	if err := merged.Merge(ownPart(merged, cand.Own, lt.own, m.set.Dir, lt.uid)); err != nil {
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
