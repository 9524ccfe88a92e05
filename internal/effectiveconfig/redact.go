// Package effectiveconfig turns the Collector's configuration snapshot into
// the OpAMP EffectiveConfig message. Core only redacts configopaque fields;
// plain string fields, URLs with credentials and header lists would leave
// the process as written, so every value is redacted here before it is
// reported.
package effectiveconfig // import "github.com/opampext/opampextension/internal/effectiveconfig"

import (
	"encoding"
	"reflect"
	"strings"
	"time"

	"github.com/opampext/opampextension/internal/utf8fix"
)

// Placeholder replaces every redacted value. It is the text core renders
// for configopaque values, so both kinds of redaction read the same.
const Placeholder = "[REDACTED]"

// Redact returns a deep copy of a configuration tree (map[string]any,
// []any and scalars, as produced by confmap) with secrets replaced by
// Placeholder. It never mutates v. The rules:
//
//   - A value under a key for which IsSecretKey is true is redacted: a
//     scalar of any type, or every leaf of a nested map or list. Empty
//     values and nil stay as they are (they hold no secret and show that
//     none is set), and so does a string made only of confmap references
//     ("${env:API_TOKEN}"), which names where the secret comes from.
//   - In a map holding a "name" or "key" entry whose value names a secret
//     (a header list item such as {name: Authorization, value: ...}), the
//     "value" entry is redacted.
//   - Every string is scrubbed: URL userinfo, secret-named query and
//     key=value parameters, "Bearer"/"Basic" credentials.
//   - Values of types that cannot be inspected (structs, funcs, channels)
//     are redacted, so that nothing leaves unseen.
func Redact(v any) any {
	return redactValue(v, false)
}

func redactValue(v any, secret bool) any {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		return redactMap(t, secret)
	case []any:
		return redactList(t, secret)
	case string:
		return redactString(t, secret)
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		if secret {
			return Placeholder
		}
		return t
	case time.Duration, time.Time:
		if secret {
			return Placeholder
		}
		return t
	case []byte:
		return redactString(string(t), secret)
	case encoding.TextMarshaler:
		text, err := t.MarshalText()
		if err != nil {
			return Placeholder
		}
		return redactString(string(text), secret)
	}
	return redactReflect(reflect.ValueOf(v), secret)
}

// redactReflect handles the container and scalar types confmap does not
// produce itself but a caller might (map[string]string, []string, named
// string types), converting them to the generic forms.
func redactReflect(rv reflect.Value, secret bool) any {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return redactValue(rv.Elem().Interface(), secret)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return Placeholder
		}
		if rv.IsNil() {
			return map[string]any(nil)
		}
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().Interface()
		}
		return redactMap(m, secret)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return []any(nil)
		}
		l := make([]any, rv.Len())
		for i := range l {
			l[i] = rv.Index(i).Interface()
		}
		return redactList(l, secret)
	case reflect.String:
		return redactString(rv.String(), secret)
	case reflect.Bool:
		return redactValue(rv.Bool(), secret)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return redactValue(rv.Int(), secret)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return redactValue(rv.Uint(), secret)
	case reflect.Float32, reflect.Float64:
		return redactValue(rv.Float(), secret)
	}
	return Placeholder
}

func redactMap(m map[string]any, secret bool) map[string]any {
	if m == nil {
		return nil
	}
	valueIsSecret := secret || namesSecretHeader(m)
	out := make(map[string]any, len(m))
	for k, v := range m {
		childSecret := secret || IsSecretKey(k) || (valueIsSecret && strings.EqualFold(k, "value"))
		k, _ = utf8fix.String(k)
		out[k] = redactValue(v, childSecret)
	}
	return out
}

func redactList(l []any, secret bool) []any {
	if l == nil {
		return nil
	}
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = redactValue(v, secret)
	}
	return out
}

// redactString also makes s valid UTF-8 (U+FFFD for invalid bytes), so
// that the server reads the text rather than YAML's base64 of it.
func redactString(s string, secret bool) string {
	s, _ = utf8fix.String(s)
	if !secret || s == "" {
		return scrubString(s)
	}
	if isRefOnly(s) {
		// A reference may embed a URL with credentials (${https://u:p@h/c}).
		if scrubbed := scrubString(s); isRefOnly(scrubbed) {
			return scrubbed
		}
	}
	return Placeholder
}

// namesSecretHeader reports whether m is a name/value pair, as in header
// lists, whose name names a secret.
func namesSecretHeader(m map[string]any) bool {
	for k, v := range m {
		if !strings.EqualFold(k, "name") && !strings.EqualFold(k, "key") {
			continue
		}
		if name, ok := v.(string); ok && IsSecretKey(name) {
			return true
		}
	}
	return false
}
