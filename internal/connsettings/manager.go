package connsettings

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/persist"
)

// Connector is what the Manager needs of the OpAMP client
// (*opampclient.Client has these methods).
type Connector interface {
	// Connection is the connection in use.
	Connection() opampclient.Connection
	// TryConnection connects with c while the current connection stays
	// ready: nil means the client now uses c; an error means it still
	// uses the old one. It returns by ctx's end.
	TryConnection(ctx context.Context, c opampclient.Connection) error
	SetConnectionSettingsStatus(s *protobufs.ConnectionSettingsStatus) error
}

var _ Connector = (*opampclient.Client)(nil)

// DefaultTryTimeout is Settings.TryTimeout's default (the config key
// connection_settings.try_timeout).
const DefaultTryTimeout = 10 * time.Second

// Settings configure a Manager.
type Settings struct {
	Logger    *zap.Logger
	Connector Connector
	// Store keeps the accepted settings (Save); nil persists nothing.
	Store       persist.Store
	ComponentID string
	// Fingerprint of the local file's server settings, saved with every
	// accepted offer (see Load).
	Fingerprint string
	// HTTPPolling: the client polls over HTTP (offered endpoints must be
	// http or https).
	HTTPPolling bool
	// TryTimeout bounds each try (DefaultTryTimeout when 0).
	TryTimeout time.Duration
	Options    Options
	// Accepted is the record Restore returned at start, if any: its hash
	// counts as handled (the server's resend of it changes nothing) and
	// the next accepted offer is overlaid on its settings.
	Accepted *Record
	// Done, when set, learns the outcome of every offer that changed the
	// connection, on the Manager's goroutine: nil when it was switched to,
	// else why not (the certificate rotator's Applied or Failed). Not
	// called for an offer that Shutdown cut short.
	Done func(offer *protobufs.OpAMPConnectionSettings, err error)
}

// Manager applies connection-settings offers one at a time on its own
// goroutine; of the offers that arrive while one is being applied, only
// the latest is applied next.
type Manager struct {
	s      Settings
	logger *zap.Logger
	// Run goroutine only: the record in force, the one before the last
	// switch (nil: none), and whether the client may still revert that
	// switch (Reverted).
	record, before *Record
	canRevert      bool

	mu       sync.Mutex
	pending  *protobufs.ConnectionSettingsOffers
	reverted bool
	last     []byte // hash of the offer handled last or being handled
	handled  bool   // last is set
	stopped  bool

	wake      chan struct{}
	ctx       context.Context // ends at Shutdown: cancels a try
	cancel    context.CancelFunc
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// NewManager returns a Manager; Start runs it.
func NewManager(s Settings) *Manager {
	if s.Logger == nil {
		s.Logger = zap.NewNop()
	}
	if s.TryTimeout <= 0 {
		s.TryTimeout = DefaultTryTimeout
	}
	m := &Manager{s: s, logger: s.Logger, wake: make(chan struct{}, 1), done: make(chan struct{})}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if s.Accepted != nil {
		// At start the client's fallback is the local connection: a
		// revert goes back to no record.
		m.record, m.canRevert = s.Accepted, true
		m.last, m.handled = s.Accepted.Hash, true
	}
	return m
}

// Start runs the goroutine that applies offers; once only.
func (m *Manager) Start() {
	m.startOnce.Do(func() { go m.run() })
}

// Shutdown stops the Manager: a try under way is cancelled (the client
// keeps its old connection), nothing further is reported. It returns when
// the goroutine has ended, or with ctx's error when ctx ends first. Safe
// to call more than once, and without Start.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.stopOnce.Do(func() {
		m.mu.Lock()
		m.stopped = true
		m.pending, m.reverted = nil, false
		m.mu.Unlock()
		m.cancel()
		m.startOnce.Do(func() { close(m.done) }) // never started: nothing to wait for
	})
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Receive takes the server's offers; it never blocks (the client's
// receiving goroutine calls it). Only the opamp part is the Manager's:
// offers without one are left to others. The hash of the offer handled
// last, or being handled, changes nothing, and cancels a different offer
// still pending: the server's latest word is what is in force.
func (m *Manager) Receive(offers *protobufs.ConnectionSettingsOffers) {
	if offers.GetOpamp() == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	if m.handled && bytes.Equal(offers.GetHash(), m.last) {
		m.pending = nil
		return
	}
	m.pending = offers
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Manager) run() {
	defer close(m.done)
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.wake:
		}
		reverted, offers := m.take()
		if reverted {
			m.revert()
		}
		if offers != nil {
			m.apply(offers)
		}
	}
}

// Reverted tells the Manager that the client went back from the
// connection it last switched to (Handler.OnConnectionReverted): the
// previous record is put back (none at all when the switch was the start
// on a record) and the offer is reported FAILED. It never blocks.
func (m *Manager) Reverted() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	m.reverted = true
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// take removes a revert and the pending offer, and marks its hash handled.
func (m *Manager) take() (reverted bool, o *protobufs.ConnectionSettingsOffers) {
	m.mu.Lock()
	defer m.mu.Unlock()
	reverted, o = m.reverted, m.pending
	m.reverted, m.pending = false, nil
	if o != nil {
		m.last, m.handled = o.GetHash(), true
	}
	return reverted, o
}

func (m *Manager) revert() {
	if !m.canRevert {
		m.logger.Debug("The client went back from a connection the Manager did not switch to")
		return
	}
	from := m.record
	m.record, m.before, m.canRevert = m.before, nil, false
	var err error
	if m.s.Store != nil {
		if m.record == nil {
			err = drop(m.s.Store, Key(m.s.ComponentID))
		} else {
			err = Save(m.s.Store, m.s.ComponentID, *m.record)
		}
	}
	if err != nil {
		m.logger.Warn("Went back to the previous connection, but could not put its settings back for a restart", zap.Error(err))
	}
	m.logger.Warn("The server's connection settings stopped working after the switch; the client is back on the previous connection",
		zap.String("hash", hex.EncodeToString(from.Hash)))
	m.status(from.Hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED,
		"the offered connection failed after the switch; back on the previous connection")
}

func (m *Manager) apply(offers *protobufs.ConnectionSettingsOffers) {
	hash, opamp := offers.GetHash(), offers.GetOpamp()
	logger := m.logger.With(zap.String("hash", hex.EncodeToString(hash)))
	if !changesConnection(opamp) {
		// The heartbeat interval (or nothing) is offered: the client
		// applied it on receipt. Not persisted: after a restart the
		// server offers it again, and the client applies it again.
		logger.Debug("The server's connection settings change no connection setting")
		m.status(hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED, "")
		return
	}
	m.status(hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING, "")
	logger.Info("Trying the server's connection settings", offerFields(opamp)...)
	next, err := Merge(m.s.Connector.Connection(), opamp, m.s.HTTPPolling, m.s.Options)
	if err != nil {
		logger.Warn("Refused the server's connection settings", zap.Error(err))
		m.status(hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED, oneLine(err))
		m.report(opamp, err)
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.s.TryTimeout)
	err = m.s.Connector.TryConnection(ctx, next)
	cancel()
	if err != nil {
		if m.ctx.Err() != nil {
			// Shutting down: the try did not fail, it was cut short. The
			// status stays APPLYING; after a restart the server sees the
			// record's hash and offers again.
			logger.Debug("Shutdown cut the try of the server's connection settings short")
			return
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = &tryTimeoutError{d: m.s.TryTimeout, err: err}
		}
		logger.Warn("The server's connection settings did not connect; keeping the connection in use", zap.Error(err))
		m.status(hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED, "the offered connection failed: "+oneLine(err))
		m.report(opamp, err)
		return
	}
	var prev *protobufs.OpAMPConnectionSettings
	if m.record != nil {
		prev = m.record.Settings
	}
	rec := &Record{Settings: Overlay(prev, opamp), Hash: hash, Fingerprint: m.s.Fingerprint}
	m.record, m.before, m.canRevert = rec, m.record, true
	if m.s.Store != nil {
		if err := Save(m.s.Store, m.s.ComponentID, *rec); err != nil {
			// The connection is in use all the same; only a restart
			// will go back to the local settings.
			logger.Warn("Connected with the server's connection settings, but could not keep them for a restart", zap.Error(err))
		}
	}
	logger.Info("Connected with the server's connection settings")
	m.status(hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED, "")
	m.report(opamp, nil)
}

func (m *Manager) report(offer *protobufs.OpAMPConnectionSettings, err error) {
	if m.s.Done != nil {
		m.s.Done(offer, err)
	}
}

func (m *Manager) status(hash []byte, st protobufs.ConnectionSettingsStatuses, msg string) {
	err := m.s.Connector.SetConnectionSettingsStatus(&protobufs.ConnectionSettingsStatus{
		LastConnectionSettingsHash: hash, Status: st, ErrorMessage: msg,
	})
	if err != nil {
		m.logger.Debug("Connection settings status not reported", zap.Error(err))
	}
}

type tryTimeoutError struct {
	d   time.Duration
	err error
}

func (e *tryTimeoutError) Error() string {
	return "no connection within " + e.d.String() + " (connection_settings.try_timeout): " + e.err.Error()
}
func (e *tryTimeoutError) Unwrap() error { return e.err }

// changesConnection: the offer has a field Merge applies.
func changesConnection(o *protobufs.OpAMPConnectionSettings) bool {
	return o.GetDestinationEndpoint() != "" || len(o.GetHeaders().GetHeaders()) > 0 ||
		o.GetCertificate() != nil || o.GetTls() != nil || o.GetProxy() != nil
}

// offerFields say what an offer changes, without a secret: header names,
// not values; whether a certificate or proxy comes, not what.
func offerFields(o *protobufs.OpAMPConnectionSettings) []zap.Field {
	var f []zap.Field
	if ep := o.GetDestinationEndpoint(); ep != "" {
		f = append(f, zap.String("endpoint_host", hostOf(ep)))
	}
	if h := o.GetHeaders(); len(h.GetHeaders()) > 0 {
		f = append(f, zap.Strings("headers", HeaderNames(h)))
	}
	if o.GetCertificate() != nil {
		f = append(f, zap.Bool("certificate", true))
	}
	if o.GetTls() != nil {
		f = append(f, zap.Bool("tls", true))
	}
	if p := o.GetProxy(); p != nil {
		f = append(f, zap.Bool("proxy", true))
		if h := p.GetConnectHeaders(); len(h.GetHeaders()) > 0 {
			f = append(f, zap.Strings("proxy_headers", HeaderNames(h)))
		}
	}
	return f
}

// oneLine is an error for the status message: errors.Join's lines joined
// by "; ".
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
