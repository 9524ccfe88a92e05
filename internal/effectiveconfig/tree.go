package effectiveconfig

import (
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// treeOf returns conf.ToStringMap(), built leaf by leaf from AllKeys and
// Get. ToStringMap deep-copies the whole tree again at every level of it
// (confmap's sanitize copies each map before descending into it), which
// made it about 8.5 MB of the 18 MB one report of 600 components
// allocated; leaf by leaf the same tree costs about a tenth of that,
// mostly the tree itself. The tree is the same one ToStringMap unflattens
// from the same leaves (TestTreeOfIsToStringMap). Build reports from node
// trees (nodetree.go), the same tree without Go maps, and uses treeOf only
// for the shapes they leave to it.
func treeOf(conf *confmap.Conf) map[string]any {
	keys := conf.AllKeys()
	if len(keys) == 0 {
		return conf.ToStringMap() // nil or empty, which ToStringMap tells apart
	}
	tree := make(map[string]any)
	for _, key := range keys {
		m, path := tree, key
		for {
			head, rest, nested := strings.Cut(path, confmap.KeyDelimiter)
			if !nested {
				m[path] = conf.Get(key)
				break
			}
			next, ok := m[head].(map[string]any)
			if !ok {
				next = make(map[string]any)
				m[head] = next
			}
			m, path = next, rest
		}
	}
	return tree
}
