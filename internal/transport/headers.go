package transport

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"
)

var (
	errHeaderName      = errors.New("invalid header name")
	errHeaderValue     = errors.New("invalid header value")
	errHeaderDuplicate = errors.New("duplicate header")
	errHeaderReserved  = errors.New("reserved header")
)

// reservedHeaders are set by the WebSocket handshake; gorilla/websocket
// fails every dial when the caller supplies them, and on a plain-HTTP POST
// they make no sense either.
var reservedHeaders = []string{
	"Connection",
	"Sec-Websocket-Extensions",
	"Sec-Websocket-Key",
	"Sec-Websocket-Version",
	"Upgrade",
}

// Headers converts configured headers into an http.Header with canonical
// names. A nil map gives an empty header. Names that collide after
// canonicalisation resolve deterministically (the last in sorted order wins);
// ValidateHeaders rejects such maps.
func Headers(m map[string]configopaque.String) http.Header {
	h := make(http.Header, len(m))
	for _, k := range sortedKeys(m) {
		h.Set(k, string(m[k]))
	}
	return h
}

// ValidateHeaders checks header names and values so that a bad entry fails
// validation instead of every request. Values are credentials and never
// appear in the error.
func ValidateHeaders(m map[string]configopaque.String) error {
	var errs []error
	seen := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		if !validHeaderName(k) {
			errs = append(errs, fmt.Errorf("%w %q", errHeaderName, k))
			continue
		}
		canon := http.CanonicalHeaderKey(k)
		if prev, ok := seen[canon]; ok {
			errs = append(errs, fmt.Errorf("%w: %q and %q name the same header", errHeaderDuplicate, prev, k))
			continue
		}
		seen[canon] = k
		if slices.Contains(reservedHeaders, canon) {
			errs = append(errs, fmt.Errorf("%w %q: the WebSocket handshake sets it", errHeaderReserved, k))
		}
		if strings.ContainsAny(string(m[k]), "\r\n\x00") {
			errs = append(errs, fmt.Errorf("%w for %q: contains a line break or NUL", errHeaderValue, k))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]configopaque.String) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
