package remoteconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// Signal is one kind of the Collector's own telemetry a server can ask
// for in ConnectionSettingsOffers.
type Signal string

// The signals, by the name of their capability's config key
// (capabilities.reports_own_<signal>).
const (
	SignalMetrics Signal = "metrics"
	SignalLogs    Signal = "logs"
	SignalTraces  Signal = "traces"
)

// signals in the order the layer is built and reported.
var signals = []Signal{SignalMetrics, SignalLogs, SignalTraces}

// KindOwnTelemetry is State.Kind of a candidate that changes the
// own-telemetry layer (its status is State.OwnStatus, reported as a
// ConnectionSettingsStatus).
const KindOwnTelemetry = "own_telemetry"

// ErrOwnTelemetry wraps every reason an own-telemetry offer is refused
// before anything changes.
var ErrOwnTelemetry = errors.New("own telemetry offer refused")

// Header is one request header an offer asks the exporter to send.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Destination is where one signal goes: the part of an offer's
// TelemetryConnectionSettings the Collector's OTLP exporter can honour,
// checked. The PEM blocks are kept here (the state file is 0600) and
// written to 0600 files of the state directory, since the Collector's
// telemetry exporter reads certificates from files only.
type Destination struct {
	Endpoint   string   `json:"endpoint"`
	Headers    []Header `json:"headers,omitempty"`
	CAPEM      string   `json:"ca_pem,omitempty"`
	CertPEM    string   `json:"cert_pem,omitempty"`
	KeyPEM     string   `json:"key_pem,omitempty"`
	IntervalMS int      `json:"interval_ms,omitempty"` // metrics only; 0: the exporter's default
}

// OwnTelemetry is the own-telemetry layer: the destinations accepted from
// the server, and the hash of the offers message that last changed them.
type OwnTelemetry struct {
	Hash         []byte                 `json:"hash,omitempty"`
	Destinations map[Signal]Destination `json:"destinations,omitempty"`
}

// empty: a layer that adds nothing.
func (o *OwnTelemetry) empty() bool { return o == nil || len(o.Destinations) == 0 }

// sameContent: the same destinations, whatever the hashes.
func (o *OwnTelemetry) sameContent(p *OwnTelemetry) bool {
	var a, b map[Signal]Destination
	if o != nil {
		a = o.Destinations
	}
	if p != nil {
		b = p.Destinations
	}
	return maps.EqualFunc(a, b, func(x, y Destination) bool {
		return x.Endpoint == y.Endpoint && slices.Equal(x.Headers, y.Headers) && x.CAPEM == y.CAPEM &&
			x.CertPEM == y.CertPEM && x.KeyPEM == y.KeyPEM && x.IntervalMS == y.IntervalMS
	})
}

// offerParts are an offers message's own-telemetry parts by signal; a
// signal the message leaves unset is absent (unchanged, as the protocol
// says).
func offerParts(o *protobufs.ConnectionSettingsOffers) map[Signal]*protobufs.TelemetryConnectionSettings {
	parts := map[Signal]*protobufs.TelemetryConnectionSettings{}
	for s, p := range map[Signal]*protobufs.TelemetryConnectionSettings{
		SignalMetrics: o.GetOwnMetrics(), SignalLogs: o.GetOwnLogs(), SignalTraces: o.GetOwnTraces(),
	} {
		if p != nil {
			parts[s] = p
		}
	}
	return parts
}

// applyOffer returns the layer the offers message asks for over prev: an
// unset part keeps prev's destination, a part with an empty endpoint
// removes it, any other part replaces it once checked. interval is the
// export interval of own metrics (0: the exporter's default).
func applyOffer(prev *OwnTelemetry, o *protobufs.ConnectionSettingsOffers, interval time.Duration) (*OwnTelemetry, error) {
	next := &OwnTelemetry{Hash: bytes.Clone(o.GetHash()), Destinations: map[Signal]Destination{}}
	if prev != nil {
		maps.Copy(next.Destinations, prev.Destinations)
	}
	parts := offerParts(o)
	for _, s := range signals {
		p, ok := parts[s]
		if !ok {
			continue
		}
		if p.GetDestinationEndpoint() == "" {
			delete(next.Destinations, s)
			continue
		}
		d, err := destination(p)
		if err != nil {
			return nil, fmt.Errorf("%w: own_%s: %w", ErrOwnTelemetry, s, err)
		}
		if s == SignalMetrics {
			d.IntervalMS = int(interval.Milliseconds())
		}
		next.Destinations[s] = d
	}
	return next, nil
}

// destination checks one offered destination against what the
// Collector's OTLP/HTTP telemetry exporter does with it, so that a
// refused offer is FAILED here rather than a reloaded service that cannot
// build its telemetry. What the exporter cannot honour (a proxy, TLS
// versions, cipher suites, skipping verification, the system pool beside
// an offered CA) is refused, not silently dropped.
func destination(p *protobufs.TelemetryConnectionSettings) (Destination, error) {
	d := Destination{Endpoint: p.GetDestinationEndpoint()}
	u, err := url.ParseRequestURI(d.Endpoint)
	if err != nil {
		return d, fmt.Errorf("destination_endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return d, fmt.Errorf("destination_endpoint %q: want an http:// or https:// URL with a host", d.Endpoint)
	}
	for _, h := range p.GetHeaders().GetHeaders() {
		if !validHeaderName(h.GetKey()) || strings.ContainsAny(h.GetValue(), "\r\n\x00") {
			return d, fmt.Errorf("headers: invalid header %q", h.GetKey())
		}
		d.Headers = append(d.Headers, Header{Name: h.GetKey(), Value: h.GetValue()})
	}
	if px := p.GetProxy(); px.GetUrl() != "" || len(px.GetConnectHeaders().GetHeaders()) > 0 {
		return d, errors.New("proxy: the Collector's telemetry exporter has no proxy setting")
	}
	if err := d.setTLS(p.GetTls(), p.GetCertificate(), u.Scheme == "https"); err != nil {
		return d, err
	}
	return d, nil
}

func (d *Destination) setTLS(t *protobufs.TLSConnectionSettings, c *protobufs.TLSCertificate, https bool) error {
	switch {
	case t.GetInsecureSkipVerify():
		return errors.New("tls.insecure_skip_verify: not accepted")
	case t.GetMinVersion() != "" || t.GetMaxVersion() != "" || len(t.GetCipherSuites()) > 0:
		return errors.New("tls: min_version, max_version and cipher_suites are not supported by the Collector's telemetry exporter")
	case t.GetCaPemContents() != "" && t.GetIncludeSystemCaCertsPool():
		return errors.New("tls.include_system_ca_certs_pool: the Collector's telemetry exporter trusts either the offered CA or the system pool, not both")
	}
	d.CAPEM = t.GetCaPemContents()
	d.CertPEM, d.KeyPEM = string(c.GetCert()), string(c.GetPrivateKey())
	if !https && (d.CAPEM != "" || d.CertPEM != "" || d.KeyPEM != "") {
		return errors.New("tls, certificate: need an https:// destination_endpoint")
	}
	if d.CAPEM != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(d.CAPEM)) {
		return errors.New("tls.ca_pem_contents: no PEM certificate")
	}
	if d.CertPEM != "" || d.KeyPEM != "" {
		if _, err := tls.X509KeyPair([]byte(d.CertPEM), []byte(d.KeyPEM)); err != nil {
			return fmt.Errorf("certificate: %w", err)
		}
	}
	return nil
}

// validHeaderName: an HTTP token (RFC 9110).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}

func (o *OwnTelemetry) hash() []byte {
	if o == nil {
		return nil
	}
	return o.Hash
}
