package certrotate

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opampext/opampextension/internal/pemcert"
)

// Errors of Complete, for errors.Is. None of them carries key material.
var (
	// ErrNoRequest: no request is pending, so an offered certificate
	// without a private key cannot be ours.
	ErrNoRequest = errors.New("certrotate: no certificate request is pending")
	// ErrBadCertificate: the offer holds no certificate that parses.
	ErrBadCertificate = errors.New("certrotate: the offered certificate does not parse")
	// ErrWrongKey: the certificate is for another key than the pending one.
	ErrWrongKey = errors.New("certrotate: the offered certificate is not for the key of our certificate request")
	// ErrNotValid: the certificate is expired or not valid yet.
	ErrNotValid = errors.New("certrotate: the offered certificate is not valid now")
	// ErrNotClientCert: the certificate's extended key usage excludes
	// client authentication, so every TLS server would refuse it.
	ErrNotClientCert = errors.New("certrotate: the offered certificate is not for client authentication")
)

// notBeforeSkew is how far in the future an offered certificate's
// NotBefore may be: the server that issued it is the one that checks it,
// by its own clock, so a few minutes between the two clocks must not turn
// a fresh certificate away.
const notBeforeSkew = 5 * time.Minute

// Complete checks a certificate offered back (opamp.certificate.cert, PEM:
// the leaf first, intermediates after it) against the pending request and
// returns it with the pending key, both PEM, for the try-then-switch path.
// The offer's ca_cert is not consulted: the specification advises against
// the agent trusting it.
//
// The request stays pending until Applied or Failed: a restart before
// either sends the same CSR again. While a completed certificate awaits
// them, Request sends nothing.
func (r *Rotator) Complete(offered []byte) (certPEM, keyPEM []byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		return nil, nil, ErrNoRequest
	}
	certPEM, leaf, err := parseChain(offered)
	if err != nil {
		return nil, nil, err
	}
	if !r.pending.PublicKey.Equal(leaf.PublicKey) {
		return nil, nil, ErrWrongKey
	}
	if err := checkUsable(leaf, r.now()); err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(r.pending)
	if err != nil {
		return nil, nil, err
	}
	r.issued = certPEM
	return certPEM, keyPEM, nil
}

// parseChain returns the CERTIFICATE blocks of b re-encoded (anything else
// dropped) and the first of them parsed.
func parseChain(b []byte) ([]byte, *x509.Certificate, error) {
	chain, err := pemcert.Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	return pemcert.Encode(chain), chain[0], nil
}

// checkUsable refuses a certificate that TLS would refuse anyway, so that
// the refusal names the cause instead of a failed handshake.
func checkUsable(c *x509.Certificate, now time.Time) error {
	if !now.Before(c.NotAfter) {
		return fmt.Errorf("%w: it expired at %s", ErrNotValid, c.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Add(notBeforeSkew).Before(c.NotBefore) {
		return fmt.Errorf("%w: it is valid from %s only", ErrNotValid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	if len(c.ExtKeyUsage) > 0 && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return ErrNotClientCert
	}
	return nil
}
