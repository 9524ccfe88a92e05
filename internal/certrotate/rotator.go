package certrotate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/persist"
)

// DefaultRetryInterval is how long the agent waits for an answer to a CSR
// before it sends it again. A server that never answers then sees six
// requests an hour, not one per heartbeat or reconnect.
const DefaultRetryInterval = 10 * time.Minute

// Settings configure a Rotator.
type Settings struct {
	// Identity is what the CSR names. InstanceUID is required.
	Identity Identity
	// ComponentID is the extension's component id; it names the state
	// key (see StoreKey).
	ComponentID string
	// Store keeps the pending and the accepted key across restarts. Pass
	// the state directory's persist.Dir, whose files are 0600. Nil keeps
	// them in memory only: an offer answering a request sent before a
	// restart is then refused (ErrWrongKey) and the next request, after
	// RetryInterval, asks again.
	Store persist.Store
	// RenewBefore is connection_settings.certificate_renew_before: how long
	// before the current certificate's end a new one is asked for.
	RenewBefore time.Duration
	// RetryInterval is the least time between two requests that got no
	// answer; zero means DefaultRetryInterval.
	RetryInterval time.Duration
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
}

// Rotator runs the CSR rounds of one extension instance: Request,
// Complete, then Applied or Failed. It is safe for concurrent use. It
// logs nothing: its errors and reasons name the certificates' dates, never
// the key.
type Rotator struct {
	id          Identity
	store       persist.Store
	key         string
	renewBefore time.Duration
	retry       time.Duration
	now         func() time.Time

	mu       sync.Mutex
	rec      record            // as persisted
	pending  *ecdsa.PrivateKey // rec.PendingKey decoded
	accepted *ecdsa.PrivateKey // rec.AcceptedKey decoded
	issued   []byte            // the certificate Complete accepted, until Applied or Failed
	// renamed: the identity changed (a uid the server assigned); a new
	// certificate is needed whatever Need says, until one is Applied.
	renamed bool
	asked   Identity // whom the last CSR named

	// keys is pending and accepted again, for Key, which must not wait
	// for mu while Request syncs the state file.
	keys atomic.Pointer[[2]*ecdsa.PrivateKey]
}

// ErrNothingIssued is returned by Applied when no certificate was completed.
var ErrNothingIssued = errors.New("certrotate: no offered certificate was completed")

// New returns the Rotator for s, with the pending request and the accepted
// key of a previous process read from s.Store. A stored state that does
// not decode is an error rather than something to overwrite: it may hold
// the key of the certificate in use.
func New(s Settings) (*Rotator, error) {
	if _, err := s.Identity.template(); err != nil {
		return nil, err
	}
	if s.RenewBefore < 0 || s.RetryInterval < 0 {
		return nil, errors.New("certrotate: renew_before and the retry interval cannot be negative")
	}
	r := &Rotator{
		id:          s.Identity,
		store:       s.Store,
		key:         StoreKey(s.ComponentID),
		renewBefore: s.RenewBefore,
		retry:       s.RetryInterval,
		now:         s.Now,
	}
	if r.store == nil {
		r.store = persist.NewMemory()
	}
	if r.retry == 0 {
		r.retry = DefaultRetryInterval
	}
	if r.now == nil {
		r.now = time.Now
	}
	rec, err := loadRecord(r.store, r.key)
	if err != nil {
		return nil, err
	}
	if rec.PendingKey != "" {
		if r.pending, err = decodeKey([]byte(rec.PendingKey)); err != nil {
			return nil, err
		}
	}
	if rec.AcceptedKey != "" {
		if r.accepted, err = decodeKey([]byte(rec.AcceptedKey)); err != nil {
			return nil, err
		}
	}
	r.rec = rec
	r.publish()
	return r, nil
}

// publish makes the keys of the state just set visible to Key. Called
// with mu held.
func (r *Rotator) publish() { r.keys.Store(&[2]*ecdsa.PrivateKey{r.pending, r.accepted}) }

// Key returns the agent's own private key for pub: the pending request's
// or the accepted one's. It has the shape of connsettings.KeySource, which
// completes a certificate offered without private_key (also one persisted
// with the accepted connection settings, after a restart), and it does
// not block.
func (r *Rotator) Key(pub crypto.PublicKey) (crypto.Signer, bool) {
	for _, k := range r.keys.Load() {
		if k != nil && k.PublicKey.Equal(pub) {
			return k, true
		}
	}
	return nil, false
}

// Request returns the ConnectionSettingsRequest to send now, or nil when
// none should go, with the reason either way (for a debug log). current is
// the client certificate in use, nil if none. The caller sends it only to
// a server with AcceptsConnectionSettingsRequest.
//
// No request goes while a completed certificate awaits Applied or Failed,
// while Need says the current one is fine, or within RetryInterval of the
// last unanswered one. A new round generates a key; a round still pending
// (also one from before a restart) sends a CSR for the same key, so that
// an answer to any of them completes. The key is persisted before the
// request is returned: a server may answer before the next restart.
func (r *Rotator) Request(current *x509.Certificate) (*protobufs.ConnectionSettingsRequest, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.promoteInUse(current); err != nil {
		return nil, "", err
	}
	if r.issued != nil {
		return nil, "an offered certificate is being tried", nil
	}
	now := r.now()
	need, why := Need(current, now, r.renewBefore)
	if r.renamed {
		need, why = true, "the instance uid changed"
	}
	if !need {
		return nil, why, nil
	}
	if r.pending != nil {
		// A clock set back makes elapsed negative: send then, rather
		// than wait for the clock to catch up.
		if elapsed := now.Sub(r.rec.RequestedAt); elapsed >= 0 && elapsed < r.retry {
			return nil, fmt.Sprintf("%s; a request sent at %s is unanswered, the next goes after %s",
				why, r.rec.RequestedAt.UTC().Format(time.RFC3339), r.rec.RequestedAt.Add(r.retry).UTC().Format(time.RFC3339)), nil
		}
	}
	key, rec := r.pending, r.rec
	if key == nil {
		var err error
		if key, err = newKey(); err != nil {
			return nil, why, err
		}
		pemKey, err := encodeKey(key)
		if err != nil {
			return nil, why, err
		}
		rec.PendingKey = string(pemKey)
	}
	csr, err := csrPEM(r.id, key)
	if err != nil {
		return nil, why, err
	}
	rec.RequestedAt = now
	if err := saveRecord(r.store, r.key, rec); err != nil {
		return nil, why, err
	}
	r.rec, r.pending, r.asked = rec, key, r.id
	r.publish()
	return &protobufs.ConnectionSettingsRequest{
		Opamp: &protobufs.OpAMPConnectionSettingsRequest{
			CertificateRequest: &protobufs.CertificateRequest{Csr: csr},
		},
	}, why, nil
}

// SetIdentity names the agent anew (the server assigned another instance
// uid): the next Request starts a round for it at once, whatever the
// certificate in use and the pacing say, since the certificate names the
// old uid. The same identity again changes nothing.
func (r *Rotator) SetIdentity(id Identity) error {
	if _, err := id.template(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == r.id {
		return nil
	}
	r.id, r.renamed = id, true
	r.rec.RequestedAt = time.Time{}
	return nil
}

// Renamed reports whether a round for a new identity is still due.
func (r *Rotator) Renamed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.renamed
}

// Pending reports whether a request awaits its certificate: an offered
// certificate without a private key is then an answer for Complete.
func (r *Rotator) Pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending != nil
}

// Applied closes the round after the completed certificate worked: its key
// becomes the accepted one, persisted for the next start (see Accepted),
// and no request goes until Need says so again.
func (r *Rotator) Applied() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.issued == nil {
		return ErrNothingIssued
	}
	if err := r.promote(r.issued); err != nil {
		return err
	}
	r.issued = nil
	return nil
}

// promote makes the pending key the accepted one, with certPEM its
// certificate, in one Put. Called with mu held.
func (r *Rotator) promote(certPEM []byte) error {
	rec := r.rec
	rec.AcceptedKey, rec.AcceptedCert = rec.PendingKey, string(certPEM)
	rec.PendingKey, rec.RequestedAt = "", time.Time{}
	if err := saveRecord(r.store, r.key, rec); err != nil {
		return err
	}
	if r.asked == r.id {
		r.renamed = false // else the round done named the old identity
	}
	r.rec, r.accepted, r.pending = rec, r.pending, nil
	r.publish()
	return nil
}

// promoteInUse closes a round that was applied without Applied (the
// caller completed the offer through Key, or crashed before Applied): the
// certificate in use is for the pending key, so the pending key is the
// accepted one, and the next round needs a new key. Only the leaf is
// known here, so Accepted then returns the leaf without its chain. Called
// with mu held.
func (r *Rotator) promoteInUse(current *x509.Certificate) error {
	if current == nil || r.pending == nil || !r.pending.PublicKey.Equal(current.PublicKey) {
		return nil
	}
	r.issued = nil
	return r.promote(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: current.Raw}))
}

// Failed closes the round after the completed certificate did not work
// (the try-then-switch went back): the request stays pending and is sent
// again, for the same key, after RetryInterval from the last one.
func (r *Rotator) Failed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.issued = nil
}

// Accepted returns the certificate and key of the last applied round, for
// the TLS settings of the next start.
func (r *Rotator) Accepted() (certPEM, keyPEM []byte, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rec.AcceptedKey == "" {
		return nil, nil, false
	}
	return []byte(r.rec.AcceptedCert), []byte(r.rec.AcceptedKey), true
}

// String describes the state without the key, should a Rotator reach a log.
func (r *Rotator) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("certrotate.Rotator{pending: %t, being tried: %t, accepted: %t}",
		r.pending != nil, r.issued != nil, r.rec.AcceptedKey != "")
}
