package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/confmap"
)

func TestTreeOfIsToStringMap(t *testing.T) {
	effective, unexpanded := loadSecrets(t)
	tests := map[string]*confmap.Conf{
		"effective":  effective,
		"unexpanded": unexpanded,
		"large":      confmap.NewFromStringMap(largeConfig(5)),
		"nil":        confmap.NewFromStringMap(nil),
		"empty":      confmap.New(),
		"shapes": confmap.NewFromStringMap(map[string]any{
			"empty": map[string]any{}, "nil": nil, "nilmap": map[string]any(nil), "list": []any{map[string]any{"a": 1}, []any{"b"}},
			"deep": map[string]any{"a": map[string]any{"b": map[string]any{"c": "d", "e": map[string]any{}}}},
			"":     map[string]any{"": "x"}, "a::b": map[string]any{"c": 1}, "a": map[string]any{"d": 2},
		}),
	}
	for name, conf := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, conf.ToStringMap(), treeOf(conf))
		})
	}
}
