package transport

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/config/configopaque"
)

// Proxy URL schemes accepted by ValidateProxyURL.
const (
	ProxySchemeHTTP   = "http"
	ProxySchemeHTTPS  = "https"
	ProxySchemeSOCKS5 = "socks5"
)

var (
	errProxyPort        = errors.New("missing proxy port")
	errProxyUnsupported = errors.New("proxy setting cannot work")
)

var proxySchemes = []string{ProxySchemeHTTP, ProxySchemeHTTPS, ProxySchemeSOCKS5}

// ValidateProxyURL checks a proxy URL: an http, https or socks5 scheme and a
// host, and for socks5 an explicit port. Both transports' SOCKS5 dialers
// (golang.org/x/net/proxy under gorilla/websocket, and net/http) would
// assume 1080; requiring the port keeps earlier validation results and
// makes the config say where the proxy listens.
// Credentials in the URL never appear in the error. Call it only when a
// proxy is configured: an empty URL is an error.
func ValidateProxyURL(proxyURL string) error {
	u, err := parseURL(proxyURL, proxySchemes, "http://proxy.example:3128")
	if err != nil {
		return err
	}
	if u.Scheme == ProxySchemeSOCKS5 && u.Port() == "" {
		return fmt.Errorf("%w in %q: write it as socks5://host:1080", errProxyPort, u.Redacted())
	}
	return nil
}

// ValidateProxy checks the proxy URL and headers, and rejects the
// combinations the client cannot honour:
//
//   - an https proxy with a ws:// or wss:// endpoint: the client's own
//     CONNECT tunnel, which it needs to send proxy headers, speaks plain TCP
//     to the proxy, and gorilla/websocket's tunnel, though it can reach an
//     https proxy, drops the headers and verifies the proxy with the OpAMP
//     server's TLS settings. Rather than a setting that half works, the
//     WebSocket transport takes http and socks5 proxies (an http proxy's
//     tunnel still carries wss end to end);
//   - proxy headers with a socks5 proxy: SOCKS5 has no headers;
//   - proxy headers with an http:// endpoint: net/http sends them only in a
//     CONNECT request (ProxyConnectHeader), which it uses for https://
//     endpoints only.
//
// In the latter two cases basic credentials can go in the URL userinfo.
// Note that with the plain-HTTP transport an https proxy is verified with
// the server's TLS settings (its CA pool and client certificate): net/http
// has one TLS configuration for both.
func ValidateProxy(endpoint, proxyURL string, headers map[string]configopaque.String) error {
	if err := ValidateProxyURL(proxyURL); err != nil {
		return fmt.Errorf("url: %w", err)
	}
	if err := ValidateHeaders(headers); err != nil {
		return fmt.Errorf("headers: %w", err)
	}
	ep, err := parseEndpoint(endpoint)
	if err != nil {
		return nil //nolint:nilerr // ValidateEndpoint reports a bad endpoint; one error per field
	}
	pu, err := parseURL(proxyURL, proxySchemes, "")
	if err != nil {
		return err // unreachable: ValidateProxyURL accepted it
	}
	scheme := pu.Scheme
	hasHeaders := len(headers) > 0
	switch {
	case scheme == ProxySchemeHTTPS && isWebSocket(ep.Scheme):
		return fmt.Errorf("%w: the WebSocket client cannot use an https proxy; use an http or socks5 proxy (the CONNECT tunnel still carries wss end to end)", errProxyUnsupported)
	case scheme == ProxySchemeSOCKS5 && hasHeaders:
		return fmt.Errorf("%w: headers are not sent to a socks5 proxy; put credentials in the URL (socks5://user:password@host:port)", errProxyUnsupported)
	case hasHeaders && ep.Scheme == SchemeHTTP:
		return fmt.Errorf("%w: headers are sent only in a CONNECT request, which an http:// endpoint does not use; put basic credentials in the URL or use https://", errProxyUnsupported)
	}
	return nil
}
