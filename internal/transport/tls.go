package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/config/configtls"
)

var errTLSIgnored = errors.New("TLS settings would be ignored")

// ValidateEndpointTLS rejects certificate, CA or key material configured for
// a plaintext (ws://, http://) endpoint: that material would silently never
// be used. An unparsable endpoint yields nil; ValidateEndpoint reports it.
func ValidateEndpointTLS(endpoint string, cfg configtls.ClientConfig) error {
	u, err := parseEndpoint(endpoint)
	if err != nil || isSecure(u.Scheme) {
		return nil //nolint:nilerr // ValidateEndpoint reports a bad endpoint; one error per field
	}
	return plaintextTLSError(u.Scheme, cfg)
}

// LoadTLS returns the TLS configuration of the client's settings.
//
// For ws:// and http:// it returns nil whatever `insecure` says (neither
// scheme uses TLS, so there is nothing to load; `insecure: true`, which the
// Supervisor writes, stays accepted), or the ValidateEndpointTLS error when
// certificate material is configured. For wss:// and https:// it always loads
// TLS through configtls, ignoring `insecure` because the scheme already asks
// for TLS: the server is verified against the configured CA or the system
// pool, a client certificate is sent when cert and key are set, and
// configtls's reload_interval keeps working because its GetClientCertificate
// hook is returned as is.
func LoadTLS(ctx context.Context, endpoint string, cfg configtls.ClientConfig) (*tls.Config, error) {
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if !isSecure(u.Scheme) {
		return nil, plaintextTLSError(u.Scheme, cfg)
	}
	cfg.Insecure = false
	tlsCfg, err := cfg.LoadTLSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading TLS settings for %s: %w", u.Redacted(), err)
	}
	return tlsCfg, nil
}

// SkipsVerify reports whether cfg disables server certificate verification,
// which the caller should log as a warning when the endpoint uses TLS.
func SkipsVerify(cfg configtls.ClientConfig) bool { return cfg.InsecureSkipVerify }

func plaintextTLSError(scheme string, cfg configtls.ClientConfig) error {
	fields := tlsMaterial(cfg)
	if len(fields) == 0 {
		return nil
	}
	secure := SchemeWSS
	if !isWebSocket(scheme) {
		secure = SchemeHTTPS
	}
	return fmt.Errorf("%w: %s set but the endpoint scheme %s:// never uses TLS; use %s:// or remove them",
		errTLSIgnored, strings.Join(fields, ", "), scheme, secure)
}

// tlsMaterial lists, in a fixed order, the certificate, CA and key settings
// present in cfg.
func tlsMaterial(cfg configtls.ClientConfig) []string {
	var fields []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"tls.ca_file", cfg.CAFile != ""},
		{"tls.ca_pem", cfg.CAPem != ""},
		{"tls.cert_file", cfg.CertFile != ""},
		{"tls.cert_pem", cfg.CertPem != ""},
		{"tls.key_file", cfg.KeyFile != ""},
		{"tls.key_pem", cfg.KeyPem != ""},
	} {
		if f.set {
			fields = append(fields, f.name)
		}
	}
	return fields
}
