// Package connsettings turns a server's OpAMP connection-settings offer
// into a connection the client tries (Merge), keeps the accepted offer
// across restarts (Record, Load, Save, Restore) and applies offers one at
// a time, the latest pending winning, on its own goroutine (Manager).
//
// No offer can cut the agent off: an offer is merged onto the connection in
// use, tried with a bound while the old connection stays ready, and only a
// connection that worked is persisted. Secrets in an offer (header values,
// private keys) never reach a log or an error message: errors name the
// field, logs name the headers.
package connsettings // import "github.com/opampext/opampextension/internal/connsettings"

import (
	"crypto"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/transport"
)

// FieldError is a bad field of an offer. Field is its path in the offer,
// "opamp.destination_endpoint", "opamp.certificate.private_key"...; Err
// says why, without the field's value (it may be a secret).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, err error) error { return &FieldError{Field: field, Err: err} }

// Why a field is refused; every one comes inside a FieldError.
var (
	ErrNoPEM         = errors.New("no PEM block of the expected type")
	ErrKeyMismatch   = errors.New("the private key does not match the certificate")
	ErrNoKey         = errors.New("no private_key offered, and the agent holds no key for the certificate")
	ErrExpired       = errors.New("the certificate has expired")
	ErrNotYetValid   = errors.New("the certificate is not valid yet")
	ErrNotIssuer     = errors.New("the certificate is not issued by ca_cert")
	ErrNotClientCert = errors.New("the certificate's extended key usage excludes client authentication")
	ErrTLSVersion    = errors.New(`not a TLS version ("1.0", "1.1", "1.2" or "1.3")`)
	ErrVersionRange  = errors.New("min_version is above max_version")
	ErrCipherSuite   = errors.New("not a cipher suite name this agent supports")
	ErrInsecureSuite = errors.New("an insecure cipher suite is refused")
)

// KeySource completes an offered certificate that comes without
// private_key: it returns the agent's own private key for the
// certificate's public key, when it holds one (the certificate a server
// signed from the agent's CSR). It must not block.
type KeySource func(pub crypto.PublicKey) (crypto.Signer, bool)

// Options are Merge's optional inputs; the zero value is valid.
type Options struct {
	// Key completes a certificate offered without private_key.
	Key KeySource
	// Now is the clock certificates are checked against (time.Now when
	// nil).
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Merge returns the connection that offer describes, built over current:
// every field the offer leaves empty keeps current's value, and nothing
// current holds is modified (headers are copied, TLS is a clone). All bad
// fields are reported at once, each a *FieldError.
//
//   - destination_endpoint replaces the URL when its scheme fits the
//     transport (httpPolling: http or https; else ws or wss). When it moves
//     to another host, a TLS ServerName override is dropped: it named the
//     old server.
//   - headers are set key by key over the current ones. An offer cannot
//     remove a header: a key it leaves out keeps its current value, and an
//     empty value sends the header empty.
//   - certificate, tls: see mergeTLS.
//   - proxy.url replaces the proxy; proxy.connect_headers are set key by
//     key like headers; the result must be a proxy the client can use
//     with the endpoint (no https proxy under WebSocket, no headers for
//     socks5 or an http:// endpoint).
//   - heartbeat_interval_seconds is not part of a connection: the client
//     applies it itself when the offer arrives.
func Merge(current opampclient.Connection, offer *protobufs.OpAMPConnectionSettings, httpPolling bool, opts Options) (opampclient.Connection, error) {
	next := current
	var errs []error
	if ep := offer.GetDestinationEndpoint(); ep != "" {
		if err := opampclient.CheckEndpoint(ep, httpPolling); err != nil {
			errs = append(errs, fieldErr("opamp.destination_endpoint", err))
		} else {
			next.URL = ep
		}
	}
	if h, err := mergeHeaders(current.Header, offer.GetHeaders()); err != nil {
		errs = append(errs, fieldErr("opamp.headers", err))
	} else {
		next.Header = h
	}
	errs = append(errs, mergeProxy(&next, current, offer))
	cfg, err := mergeTLS(current.TLS, offer, opts)
	errs = append(errs, err)
	next.TLS = cfg
	if next.TLS != nil && next.TLS.ServerName != "" && hostOf(next.URL) != hostOf(current.URL) {
		if next.TLS == current.TLS {
			next.TLS = current.TLS.Clone()
		}
		next.TLS.ServerName = ""
	}
	if err := errors.Join(errs...); err != nil {
		return current, err
	}
	return next, nil
}

// mergeHeaders sets offered over a copy of current, with the checks of
// the local config's headers (transport.ValidateHeaders: names, values,
// the WebSocket handshake's own headers, one name twice). It returns
// current itself when nothing is offered, so that an offer without
// headers shares the headers in use (which nobody modifies).
func mergeHeaders(current http.Header, offered *protobufs.Headers) (http.Header, error) {
	if len(offered.GetHeaders()) == 0 {
		return current, nil
	}
	m := make(map[string]configopaque.String, len(offered.GetHeaders()))
	for _, h := range offered.GetHeaders() {
		m[h.GetKey()] = configopaque.String(h.GetValue())
	}
	if err := transport.ValidateHeaders(m); err != nil {
		return nil, err
	}
	next := current.Clone()
	if next == nil {
		next = http.Header{}
	}
	for _, h := range offered.GetHeaders() {
		next.Set(h.GetKey(), h.GetValue())
	}
	return next, nil
}

// mergeProxy applies the offer's proxy to next, then checks the whole
// (transport.ValidateProxy: the combinations of endpoint, proxy scheme and
// headers the client cannot honour), also when only the endpoint moved
// under a proxy already in use.
func mergeProxy(next *opampclient.Connection, current opampclient.Connection, offer *protobufs.OpAMPConnectionSettings) error {
	p := offer.GetProxy()
	if p == nil && (offer.GetDestinationEndpoint() == "" || current.ProxyURL == "") {
		return nil
	}
	var errs []error
	if u := p.GetUrl(); u != "" {
		if err := transport.ValidateProxyURL(u); err != nil {
			errs = append(errs, fieldErr("opamp.proxy.url", err))
		} else {
			next.ProxyURL = u
		}
	}
	if h, err := mergeHeaders(current.ProxyHeader, p.GetConnectHeaders()); err != nil {
		errs = append(errs, fieldErr("opamp.proxy.connect_headers", err))
	} else {
		next.ProxyHeader = h
	}
	if len(errs) > 0 || next.ProxyURL == "" {
		return errors.Join(errs...)
	}
	m := make(map[string]configopaque.String, len(next.ProxyHeader))
	for k := range next.ProxyHeader {
		m[k] = configopaque.String(next.ProxyHeader.Get(k))
	}
	if err := transport.ValidateProxy(next.URL, next.ProxyURL, m); err != nil {
		return fieldErr("opamp.proxy", err)
	}
	return nil
}

// HeaderNames lists the names of offered headers, for a log line: values
// are secrets (tokens, credentials) and never logged.
func HeaderNames(h *protobufs.Headers) []string {
	names := make([]string, 0, len(h.GetHeaders()))
	for _, x := range h.GetHeaders() {
		names = append(names, http.CanonicalHeaderKey(x.GetKey()))
	}
	return names
}

// hostOf is the host of an endpoint URL, "" when it does not parse.
func hostOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
