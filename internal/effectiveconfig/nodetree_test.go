package effectiveconfig

import (
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func TestNodeTreeIsTreeOf(t *testing.T) {
	effective, unexpanded := loadSecrets(t)
	shapesEff, shapesSrc := shapesConfig()
	tests := []struct {
		name string
		conf *confmap.Conf
		ok   bool // fill builds it; else it is left to treeOf
	}{
		{"effective", effective, true},
		{"unexpanded", unexpanded, true},
		{"large", confmap.NewFromStringMap(largeConfig(5)), true},
		{"shapes", confmap.NewFromStringMap(shapesEff), true},
		{"shapes source", confmap.NewFromStringMap(shapesSrc), true},
		{"empty", confmap.New(), true},
		{"key under a leaf", confmap.NewFromStringMap(map[string]any{"a": map[string]any{"b": 1, "b:": map[string]any{":c": 2}}}), false},
		{"key under an empty map", confmap.NewFromStringMap(map[string]any{"b": map[string]any{}, "b:": map[string]any{":c": 2}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tree nodeTree
			require.Equal(t, tt.ok, tree.fill(tt.conf))
			switch {
			case !tt.ok:
			case tree.nodes[0].first < 0:
				// No keys: a root without children, reported as "{}" as
				// treeOf's nil or empty map is.
				assert.Empty(t, treeOf(tt.conf))
			default:
				assert.Equal(t, treeOf(tt.conf), tree.value(0))
			}
		})
	}
}

// TestBuildLargeAllocations holds issue 12's goal: building the report of
// 600 components (both bodies) allocates at most 4 bytes per byte of the
// YAML it returns. It takes the median of 21 builds: one whose writer the
// pool dropped (the collector empties it; under -race it drops a quarter
// of what it is given) grows a new one, which a build on every reload
// does not.
func TestBuildLargeAllocations(t *testing.T) {
	effective, unexpanded := confmap.NewFromStringMap(largeConfig(200)), confmap.NewFromStringMap(largeSource(200))
	msg, err := Build(effective, unexpanded, true)
	require.NoError(t, err)
	yamlLen := 0
	for _, f := range msg.GetConfigMap().GetConfigMap() {
		yamlLen += len(f.GetBody())
	}
	allocated := make([]uint64, 21)
	var before, after runtime.MemStats
	for i := range allocated {
		runtime.ReadMemStats(&before)
		_, err := Build(effective, unexpanded, true)
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		allocated[i] = after.TotalAlloc - before.TotalAlloc
	}
	slices.Sort(allocated)
	perByte := float64(allocated[len(allocated)/2]) / float64(yamlLen)
	t.Logf("%d bytes of YAML, %.2f bytes allocated per byte (fewest %d, most %d bytes)",
		yamlLen, perByte, allocated[0], allocated[len(allocated)-1])
	assert.LessOrEqual(t, perByte, 4.0)
}
