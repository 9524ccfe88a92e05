package transport

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// URL schemes of the two OpAMP transports.
const (
	SchemeWS    = "ws"
	SchemeWSS   = "wss"
	SchemeHTTP  = "http"
	SchemeHTTPS = "https"
)

// Sentinels wrapped by the validation errors, so tests and callers can tell
// the cases apart without reading the text.
var (
	errEmptyURL          = errors.New("must not be empty")
	errSurroundingSpace  = errors.New("must not start or end with spaces")
	errMissingScheme     = errors.New("missing scheme")
	errInvalidURL        = errors.New("not a valid URL")
	errUnsupportedScheme = errors.New("unsupported scheme")
	errMissingHost       = errors.New("missing host")
	errUserinfoWS        = errors.New("credentials in a WebSocket URL are not sent (the WebSocket dialer refuses them)")
)

var allSchemes = []string{SchemeWS, SchemeWSS, SchemeHTTP, SchemeHTTPS}

// ValidateEndpoint checks that endpoint is an absolute URL with a host and
// one of allowedSchemes (ws, wss, http or https when none are given). The
// message does not name the field: the caller prefixes its path.
func ValidateEndpoint(endpoint string, allowedSchemes ...string) error {
	if len(allowedSchemes) == 0 {
		allowedSchemes = allSchemes
	}
	u, err := parseURL(endpoint, allowedSchemes, "ws://127.0.0.1:4320/v1/opamp")
	if err != nil {
		return err
	}
	if u.User != nil && isWebSocket(u.Scheme) {
		return fmt.Errorf("%w in %q: use headers or auth", errUserinfoWS, u.Redacted())
	}
	return nil
}

// Redacted returns the endpoint fit for a log line: userinfo hidden.
func Redacted(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// parseEndpoint parses an endpoint already accepted by ValidateEndpoint.
func parseEndpoint(endpoint string) (*url.URL, error) {
	return parseURL(endpoint, allSchemes, "ws://127.0.0.1:4320/v1/opamp")
}

// parseURL never echoes the raw string once parsing fails, because a proxy
// URL may carry a password; after parsing it prints the redacted form.
func parseURL(raw string, allowedSchemes []string, example string) (*url.URL, error) {
	switch {
	case raw == "":
		return nil, errEmptyURL
	case strings.TrimSpace(raw) != raw:
		return nil, errSurroundingSpace
	case !strings.Contains(raw, "://"):
		return nil, fmt.Errorf("%w: write it as %s", errMissingScheme, example)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("%w: %w", errInvalidURL, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(allowedSchemes, scheme) {
		return nil, fmt.Errorf("%w %q in %q: use %s", errUnsupportedScheme, u.Scheme, u.Redacted(), strings.Join(allowedSchemes, ", "))
	}
	u.Scheme = scheme
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w in %q", errMissingHost, u.Redacted())
	}
	return u, nil
}

// isSecure reports whether scheme asks for TLS.
func isSecure(scheme string) bool { return scheme == SchemeWSS || scheme == SchemeHTTPS }

// isWebSocket reports whether scheme selects the WebSocket transport.
func isWebSocket(scheme string) bool { return scheme == SchemeWS || scheme == SchemeWSS }
