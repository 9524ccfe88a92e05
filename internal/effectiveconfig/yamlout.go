package effectiveconfig

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The report of a large configuration was dominated by its YAML encoding:
// yaml.v3 keeps every event of a document in a queue that only grows (a
// few hundred bytes per scalar), on top of the redacted copy of the tree
// it encodes. yamlWriter instead redacts while it writes, straight into a
// pooled buffer, and produces yaml.v3's output byte for byte (block style,
// indent 2, keys in yaml.v3's order): the bytes reported do not change,
// only what building them costs.
//
// It writes itself only the shapes whose rendering it knows exactly (see
// yamlscalar.go); any other scalar is rendered by yaml.v3 alone and put in
// place, and the rare shapes whose rendering depends on the surroundings
// (a key of more than one line or over 128 bytes, line breaks other than
// '\n', keys that collide once made valid UTF-8) send the whole document
// back to yaml.v3 (errNeedsYAMLv3).

// errNeedsYAMLv3 makes marshalTree encode the document with yaml.v3.
var errNeedsYAMLv3 = errors.New("document needs yaml.v3")

// writerPool keeps the scratch buffers between builds: a report is built
// on every start and reload, with a similar size each time.
var writerPool = sync.Pool{New: func() any { return &yamlWriter{} }}

type yamlWriter struct {
	buf  []byte
	keys []string // sorted keys of the maps being written, a stack
	kids []int32  // the same for node trees (nodes of eff or src)
	// eff and src are Build's trees of the effective and the unexpanded
	// configuration.
	eff, src nodeTree
}

// release empties w and puts it back in writerPool.
func (w *yamlWriter) release() {
	w.buf, w.keys, w.kids = w.buf[:0], w.keys[:0], w.kids[:0]
	w.eff.reset()
	w.src.reset()
	writerPool.Put(w)
}

// marshalTree redacts tree and encodes it as YAML: the same bytes as
// yaml.v3 encoding Redact(tree) with indent 2.
func marshalTree(tree map[string]any) ([]byte, error) {
	w := writerPool.Get().(*yamlWriter)
	defer w.release()
	err := w.document(tree)
	if errors.Is(err, errNeedsYAMLv3) {
		return encodeYAMLv3(redactMap(tree, false))
	}
	if err != nil {
		return nil, err
	}
	return bytes.Clone(w.buf), nil
}

// encodeYAMLv3 is the reference encoding marshalTree reproduces.
func encodeYAMLv3(redacted map[string]any) ([]byte, error) {
	if redacted == nil {
		redacted = map[string]any{}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(redacted); err != nil {
		return nil, fmt.Errorf("encoding configuration as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding configuration as YAML: %w", err)
	}
	return buf.Bytes(), nil
}

func (w *yamlWriter) document(tree map[string]any) error {
	if len(tree) == 0 {
		w.buf = append(w.buf, "{}\n"...)
		return nil
	}
	return w.mapping(tree, false, 0, false)
}

// mapping writes the entries of a non-empty map with its keys at column
// col; inline when the first key follows a "- " already written.
func (w *yamlWriter) mapping(m map[string]any, secret bool, col int, inline bool) error {
	start := len(w.keys)
	for k := range m {
		if !utf8.ValidString(k) {
			// Made valid, two keys may become one; Redact keeps either.
			return errNeedsYAMLv3
		}
		w.keys = append(w.keys, k)
	}
	slices.SortFunc(w.keys[start:], compareKeys)
	defer func() { w.keys = w.keys[:start] }()
	valueIsSecret := secret || namesSecretHeader(m)
	for i := range len(m) {
		k := w.keys[start+i]
		if i > 0 || !inline {
			w.indent(col)
		}
		if err := w.key(k); err != nil {
			return err
		}
		childSecret := secret || IsSecretKey(k) || (valueIsSecret && strings.EqualFold(k, "value"))
		if err := w.child(m[k], childSecret, col); err != nil {
			return err
		}
	}
	return nil
}

// sequence writes the items of a non-empty list with their dashes at
// column col.
func (w *yamlWriter) sequence(l []any, secret bool, col int, inline bool) error {
	for i, v := range l {
		if i > 0 || !inline {
			w.indent(col)
		}
		w.buf = append(w.buf, "- "...)
		if err := w.item(v, secret, col); err != nil {
			return err
		}
	}
	return nil
}

// child writes the value of a key written at column col, from ':' on.
func (w *yamlWriter) child(v any, secret bool, col int) error {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			w.buf = append(w.buf, ": {}\n"...)
			return nil
		}
		w.buf = append(w.buf, ":\n"...)
		return w.mapping(t, secret, col+2, false)
	case []any:
		if len(t) == 0 {
			w.buf = append(w.buf, ": []\n"...)
			return nil
		}
		w.buf = append(w.buf, ":\n"...)
		return w.sequence(t, secret, col+2, false)
	case string:
		// redactValue's result, without boxing it in an interface.
		w.buf = append(w.buf, ": "...)
		return w.str(redactString(t, secret), col)
	}
	r, generic := redactLeaf(v, secret)
	if generic {
		return w.child(r, false, col) // already redacted: secret is spent
	}
	w.buf = append(w.buf, ": "...)
	return w.scalar(r, col)
}

// item writes a list item after its "- ", the dash at column col.
func (w *yamlWriter) item(v any, secret bool, col int) error {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			w.buf = append(w.buf, "{}\n"...)
			return nil
		}
		return w.mapping(t, secret, col+2, true)
	case []any:
		if len(t) == 0 {
			w.buf = append(w.buf, "[]\n"...)
			return nil
		}
		return w.sequence(t, secret, col+2, true)
	case string:
		return w.str(redactString(t, secret), col)
	}
	r, generic := redactLeaf(v, secret)
	if generic {
		return w.item(r, false, col)
	}
	return w.scalar(r, col)
}

// redactLeaf redacts a value that is not a map[string]any or []any:
// scalars, and the containers redactReflect turns into generic ones,
// which come back redacted already (generic is then true).
func redactLeaf(v any, secret bool) (out any, generic bool) {
	r := redactValue(v, secret)
	switch r.(type) {
	case map[string]any, []any:
		return r, true
	}
	return r, false
}

func (w *yamlWriter) indent(col int) {
	for range col {
		w.buf = append(w.buf, ' ')
	}
}

// key writes a mapping key, without its ':'.
func (w *yamlWriter) key(k string) error {
	if len(k) <= maxSimpleKey {
		var ok bool
		if w.buf, ok = appendKnownString(w.buf, k); ok {
			return nil
		}
	}
	// yaml.v3 renders it alone; only a simple key, on one line, renders
	// the same in any map.
	text, err := encodeYAMLv3(map[string]any{k: nil})
	if err != nil {
		return err
	}
	const tail = ": null\n"
	body, ok := strings.CutSuffix(string(text), tail)
	if !ok || strings.HasPrefix(body, "? ") || strings.Contains(body, "\n") {
		return errNeedsYAMLv3
	}
	w.buf = append(w.buf, body...)
	return nil
}

// scalar writes a redacted scalar value and its line break; col is the
// column of its key or dash, to which yaml.v3 indents a block scalar's
// lines by 2.
func (w *yamlWriter) scalar(v any, col int) error {
	switch t := v.(type) {
	case nil:
		w.buf = append(w.buf, "null\n"...)
		return nil
	case string:
		return w.str(t, col)
	case bool:
		w.buf = append(strconv.AppendBool(w.buf, t), '\n')
		return nil
	case int:
		w.buf = append(strconv.AppendInt(w.buf, int64(t), 10), '\n')
		return nil
	case int64:
		w.buf = append(strconv.AppendInt(w.buf, t, 10), '\n')
		return nil
	case uint64:
		w.buf = append(strconv.AppendUint(w.buf, t, 10), '\n')
		return nil
	case float64:
		w.buf = append(appendFloat(w.buf, t, 64), '\n')
		return nil
	case float32:
		w.buf = append(appendFloat(w.buf, float64(t), 32), '\n')
		return nil
	}
	return w.scalarByYAMLv3(v, col)
}

// str writes a redacted string value as scalar does.
func (w *yamlWriter) str(s string, col int) error {
	var ok bool
	if w.buf, ok = appendKnownString(w.buf, s); ok {
		w.buf = append(w.buf, '\n')
		return nil
	}
	if hasOtherBreak(s) {
		return errNeedsYAMLv3
	}
	return w.scalarByYAMLv3(s, col)
}

// scalarByYAMLv3 has yaml.v3 render v as the value of a top-level key,
// then moves the lines after the first (a block scalar's) from that key's
// column to col: yaml.v3 writes blank lines of a block scalar without
// indentation, so only the others move.
func (w *yamlWriter) scalarByYAMLv3(v any, col int) error {
	text, err := encodeYAMLv3(map[string]any{"k": v})
	if err != nil {
		return err
	}
	body, ok := strings.CutPrefix(string(text), "k: ")
	if !ok {
		return errNeedsYAMLv3
	}
	for line := range strings.SplitAfterSeq(body, "\n") {
		if len(w.buf) > 0 && w.buf[len(w.buf)-1] == '\n' && line != "\n" && line != "" {
			w.indent(col)
		}
		w.buf = append(w.buf, line...)
	}
	return nil
}

// hasOtherBreak reports whether s holds a line break other than '\n',
// which yaml.v3 writes as it is inside a quoted scalar, breaking the line
// without a '\n' that scalarByYAMLv3 could indent after.
func hasOtherBreak(s string) bool {
	return strings.ContainsAny(s, "\r\u0085\u2028\u2029")
}
