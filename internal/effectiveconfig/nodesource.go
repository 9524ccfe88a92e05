package effectiveconfig

import (
	"slices"
	"strings"
)

// redactBySource does to the map at node e of t, the effective tree, what
// redactMapBySource does to it as a Go map, src's node s being its source:
// it replaces in place what redactMapBySource would have copied and
// changed. Maps on both sides are walked node by node; a leaf on either
// side is handed to redactBySource with the other side as treeOf holds it
// (a map built only then: a reference that expanded to a map is rare).
// scratch holds the sorted keys of the source maps being walked.
func (t *nodeTree) redactBySource(e int32, src *nodeTree, s int32, scratch *[]int32) {
	start := len(*scratch)
	for c := src.nodes[s].first; c >= 0; c = src.nodes[c].next {
		*scratch = append(*scratch, c)
	}
	end := len(*scratch)
	slices.SortFunc((*scratch)[start:end], func(a, b int32) int {
		return strings.Compare(src.nodes[a].name, src.nodes[b].name)
	})
	defer func() { *scratch = (*scratch)[:start] }()
	for c := t.nodes[e].first; c >= 0; c = t.nodes[c].next {
		// Deeper maps append to scratch: slice it again each time.
		sc, ok := src.lookupKey((*scratch)[start:end], t.nodes[c].name)
		if !ok {
			continue
		}
		effMap, srcMap := t.nodes[c].first >= 0, src.nodes[sc].first >= 0
		switch {
		case effMap && srcMap:
			t.redactBySource(c, src, sc, scratch)
		case !effMap && !srcMap:
			if v, changed := redactBySource(t.nodes[c].val, src.nodes[sc].val); changed {
				t.nodes[c].val = v
			}
		default:
			if v, changed := redactBySource(t.value(c), src.value(sc)); changed {
				t.setLeaf(c, v)
			}
		}
	}
}

// lookupKey is lookupKey over the children of one map, sorted by name:
// the child named key, else the only one named so ignoring case.
func (t *nodeTree) lookupKey(sorted []int32, key string) (int32, bool) {
	i, found := slices.BinarySearchFunc(sorted, key, func(c int32, key string) int {
		return strings.Compare(t.nodes[c].name, key)
	})
	if found {
		return sorted[i], true
	}
	match, n := int32(-1), 0
	for _, c := range sorted {
		if strings.EqualFold(t.nodes[c].name, key) {
			match, n = c, n+1
		}
	}
	return match, n == 1
}
