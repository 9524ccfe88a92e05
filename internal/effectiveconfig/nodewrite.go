package effectiveconfig

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/confmap"
)

// bodies returns Build's two YAML bodies, the redacted effective
// configuration and, when includeUnexpanded is set, the redacted
// unexpanded one (else nil): the bytes bodiesByMaps returns, built over
// node trees. The shapes node trees leave to treeOf (fill) or to yaml.v3
// (errNeedsYAMLv3) are built by bodiesByMaps.
func bodies(effective, unexpanded *confmap.Conf, includeUnexpanded bool) (body, raw []byte, err error) {
	w := writerPool.Get().(*yamlWriter)
	defer w.release()
	if !w.eff.fill(effective) || (unexpanded != nil && !w.src.fill(unexpanded)) {
		return bodiesByMaps(effective, unexpanded, includeUnexpanded)
	}
	if unexpanded != nil {
		w.eff.redactBySource(0, &w.src, 0, &w.kids)
	}
	body, err = w.treeDocument(&w.eff)
	if errors.Is(err, errNeedsYAMLv3) {
		body, err = effectiveByMaps(effective, unexpanded)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("effective configuration: %w", err)
	}
	if !includeUnexpanded {
		return body, nil, nil
	}
	raw, err = w.treeDocument(&w.src)
	if errors.Is(err, errNeedsYAMLv3) {
		raw, err = Marshal(treeOf(unexpanded))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("unexpanded configuration: %w", err)
	}
	return body, raw, nil
}

// bodiesByMaps builds Build's bodies from Go maps (treeOf).
func bodiesByMaps(effective, unexpanded *confmap.Conf, includeUnexpanded bool) (body, raw []byte, err error) {
	body, err = effectiveByMaps(effective, unexpanded)
	if err != nil {
		return nil, nil, fmt.Errorf("effective configuration: %w", err)
	}
	if !includeUnexpanded {
		return body, nil, nil
	}
	raw, err = Marshal(treeOf(unexpanded))
	if err != nil {
		return nil, nil, fmt.Errorf("unexpanded configuration: %w", err)
	}
	return body, raw, nil
}

// effectiveByMaps is the effective body built from Go maps. unexpanded
// may be nil.
func effectiveByMaps(effective, unexpanded *confmap.Conf) ([]byte, error) {
	tree := treeOf(effective)
	if unexpanded != nil {
		// redactMapBySource copies what it changes: the source tree is
		// not reported from here.
		tree, _ = redactMapBySource(tree, treeOf(unexpanded))
	}
	return Marshal(tree)
}

// treeDocument writes t as marshalTree writes the map t holds.
func (w *yamlWriter) treeDocument(t *nodeTree) ([]byte, error) {
	w.buf = w.buf[:0]
	if t.nodes[0].first < 0 {
		return []byte("{}\n"), nil
	}
	if err := w.treeMapping(t, 0, false, 0); err != nil {
		return nil, err
	}
	return bytes.Clone(w.buf), nil
}

// treeMapping is mapping for the map at node i of t. A node tree's map
// is never a list item: lists are leaves.
func (w *yamlWriter) treeMapping(t *nodeTree, i int32, secret bool, col int) error {
	start := len(w.kids)
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		if !utf8.ValidString(t.nodes[c].name) {
			return errNeedsYAMLv3
		}
		w.kids = append(w.kids, c)
	}
	slices.SortFunc(w.kids[start:], func(a, b int32) int {
		return compareKeys(t.nodes[a].name, t.nodes[b].name)
	})
	defer func() { w.kids = w.kids[:start] }()
	valueIsSecret := secret || t.namesSecretHeader(i)
	// Deeper maps append to kids and cut it back before they return.
	for k, end := start, len(w.kids); k < end; k++ {
		n := &t.nodes[w.kids[k]]
		w.indent(col)
		if err := w.key(n.name); err != nil {
			return err
		}
		childSecret := secret || IsSecretKey(n.name) || (valueIsSecret && strings.EqualFold(n.name, "value"))
		var err error
		if n.first >= 0 {
			w.buf = append(w.buf, ":\n"...)
			err = w.treeMapping(t, w.kids[k], childSecret, col+2)
		} else {
			err = w.child(n.val, childSecret, col)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
