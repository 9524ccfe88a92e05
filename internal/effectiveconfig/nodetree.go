package effectiveconfig

import (
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// A report of 600 components spent most of what it allocated on the Go
// maps of the two configuration trees (treeOf): map buckets grown key by
// key, twice per build. nodeTree holds the same tree as one slice of
// nodes, kept between builds in the writer pool, so that building it
// allocates only what confmap allocates to hand out the keys and values.

// node is one key of a configuration tree: a map holding at least one key
// when first >= 0, else a leaf holding val as confmap.Get returns it (a
// scalar, a list, or an empty or expanded map).
type node struct {
	name        string // the key: a piece of the confmap key, not a copy
	val         any
	first, last int32 // children in confmap's key order, -1 for none
	next        int32 // next sibling, -1 for none
}

// nodeTree is a configuration tree; nodes[0] is its root.
type nodeTree struct {
	nodes []node
	path  []int32 // fill's scratch: the nodes of the key before
}

// fill makes t the tree treeOf(conf) returns. It reports false for the
// shape treeOf resolves by replacing a leaf, a key under another key that
// is a leaf (possible only with keys that end in ':'), which is left to
// treeOf.
//
// Every map's keys arrive together: AllKeys is sorted, and a map's key
// prefix, "a::b::", is the start of exactly the keys under it (a piece cut
// at the first "::" holds no "::" and cannot end in ':'), so all of them
// come one after another. A key is placed by comparing its pieces with
// those of the key before, without a lookup.
func (t *nodeTree) fill(conf *confmap.Conf) bool {
	keys := conf.AllKeys()
	if !slices.IsSorted(keys) {
		slices.Sort(keys) // a fresh slice: ours to sort
	}
	t.reset()
	t.nodes = append(t.nodes, node{first: -1, last: -1, next: -1})
	t.path = append(t.path[:0], 0)
	path := t.path
	defer func() { t.path = path[:0] }()
	for _, key := range keys {
		depth, rest := 1, key
		for {
			head, tail, nested := strings.Cut(rest, confmap.KeyDelimiter)
			if depth < len(path) && t.nodes[path[depth]].name == head {
				if !nested || t.nodes[path[depth]].first < 0 {
					return false // the same key twice, or a key under a leaf
				}
				depth, rest = depth+1, tail
				continue
			}
			path = path[:depth]
			c := t.add(path[depth-1], head)
			path = append(path, c)
			if !nested {
				t.nodes[c].val = conf.Get(key)
				break
			}
			depth, rest = depth+1, tail
		}
	}
	return true
}

// add appends a node named name as the last child of parent.
func (t *nodeTree) add(parent int32, name string) int32 {
	c := int32(len(t.nodes))
	t.nodes = append(t.nodes, node{name: name, first: -1, last: -1, next: -1})
	p := &t.nodes[parent]
	if p.last >= 0 {
		t.nodes[p.last].next = c
	} else {
		p.first = c
	}
	p.last = c
	return c
}

// reset empties t, dropping its references to configuration values so
// that a pooled tree keeps none alive.
func (t *nodeTree) reset() {
	clear(t.nodes)
	t.nodes = t.nodes[:0]
}

// setLeaf makes node i a leaf holding v, in place of what it held.
func (t *nodeTree) setLeaf(i int32, v any) {
	n := &t.nodes[i]
	n.val, n.first, n.last = v, -1, -1
}

// value returns node i as treeOf holds it: its value, or a new map.
func (t *nodeTree) value(i int32) any {
	n := t.nodes[i]
	if n.first < 0 {
		return n.val
	}
	m := make(map[string]any)
	for c := n.first; c >= 0; c = t.nodes[c].next {
		m[t.nodes[c].name] = t.value(c)
	}
	return m
}

// namesSecretHeader is namesSecretHeader of the map at node i.
func (t *nodeTree) namesSecretHeader(i int32) bool {
	for c := t.nodes[i].first; c >= 0; c = t.nodes[c].next {
		n := &t.nodes[c]
		if !strings.EqualFold(n.name, "name") && !strings.EqualFold(n.name, "key") {
			continue
		}
		if name, ok := n.val.(string); ok && n.first < 0 && IsSecretKey(name) {
			return true
		}
	}
	return false
}
