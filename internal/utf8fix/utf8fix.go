// Package utf8fix makes text valid UTF-8 before it enters an OpAMP report.
// Protobuf string fields must hold valid UTF-8: one bad byte (an
// environment value in Latin-1, an error text from a remote system) makes
// the whole message fail to encode, and with it every report. Each place
// where outside text enters the reported state repairs it here: invalid
// sequences become U+FFFD, and the first repair of each field is logged.
package utf8fix // import "github.com/opampext/opampextension/internal/utf8fix"

import (
	"strings"
	"sync"
	"unicode/utf8"

	"go.uber.org/zap"
)

// Replacement stands for every invalid sequence.
const Replacement = "\uFFFD"

// String returns s with every invalid UTF-8 sequence replaced by
// Replacement, and whether anything was replaced. Valid text is returned
// as it is, without a copy.
func String(s string) (string, bool) {
	if utf8.ValidString(s) {
		return s, false
	}
	return strings.ToValidUTF8(s, Replacement), true
}

// maxRemembered bounds the fields a Once remembers: a source of ever new
// field names must not grow memory. Past it every field is news again,
// logged at debug level only.
const maxRemembered = 1024

// Once tells whether a key is seen for the first time, for at most
// maxRemembered keys. The zero value is ready; safe for concurrent use.
type Once struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

// First reports whether key was not seen before. full is true when the
// set is full and key could not be remembered.
func (o *Once) First(key string) (first, full bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.seen[key]; ok {
		return false, false
	}
	if len(o.seen) >= maxRemembered {
		return true, true
	}
	if o.seen == nil {
		o.seen = make(map[string]struct{})
	}
	o.seen[key] = struct{}{}
	return true, false
}

// Warner repairs text and warns once per field that needed it, so a
// component that flaps with the same bad error text logs one line, not
// one per event. A nil *Warner repairs without logging.
type Warner struct {
	logger *zap.Logger
	once   Once
}

// NewWarner returns a Warner logging to logger (nil: no logging).
func NewWarner(logger *zap.Logger) *Warner {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Warner{logger: logger}
}

// Valid returns s made valid UTF-8 (see String). The first time field
// needs a repair, one warning names it.
func (w *Warner) Valid(field, s string) string {
	fixed, changed := String(s)
	if changed && w != nil {
		w.Repaired(field)
	}
	return fixed
}

// Repaired logs, once per field, that field held invalid UTF-8.
func (w *Warner) Repaired(field string) {
	first, full := w.once.First(field)
	switch {
	case !first:
	case full:
		w.logger.Debug("Replaced invalid UTF-8 in a reported field", zap.String("field", field))
	default:
		w.logger.Warn("Replaced invalid UTF-8 in a reported field with U+FFFD; the OpAMP server gets the rest of the text (further repairs of this field are not logged)",
			zap.String("field", field))
	}
}
