package effectiveconfig

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// yamlShapes are scalars and keys whose rendering yaml.v3 decides in
// different ways: plain, single or double quotes, literal blocks, the
// YAML 1.1 words, numbers in strings, indicators, non-ASCII, breaks.
var yamlShapes = []string{
	"", " ", "a", "abc def", "a  b", " lead", "trail ", "a: b", "a:", "a:b", "a #b", "a#b", "#a",
	"[REDACTED]", "Bearer [REDACTED]", "https://[REDACTED]@h/v1?api_key=[REDACTED]", "${env:API_TOKEN}",
	"-", "-a", "- a", "--- a", "...", ".5", ".inf", ".nan", "?a", "? a", ":a", "~", "~a", "<<", "<a",
	"*a", "&a", "!a", "|a", ">a", "'a", "\"a", "%a", "@a", "`a", ",a", "]a", "{a", "}a", "a'b", "it's",
	"y", "Y", "yes", "YES", "yEs", "n", "no", "on", "ON", "off", "true", "True", "tRue", "false", "null", "NULL", "nil",
	"0", "1", "-1", "+1", "1_000", "0x1F", "0o17", "0b101", "1e3", "1.5", "1.2.3", "1.2.3.4", "10.0.0.1:4317",
	"0.0.0.0:4317", "1:20", "1:20:30.5", "12:30", "190:20:30", "2024-01-02", "2024-1-2T10:00:00Z", "2024-01-02 10:00:00",
	"5s", "100ms", "1m30s", "1h", "0xdeadbeef", "1d", "1e5s", "0o7s", "10GiB", "1.5x", "3f", "1:2s",
	"é", "naïve", "日本", "\t", "a\tb", "\x00", "\x7f", "\ufeffa", "\xff", "line\nline", "l1\nl2\n", "l1\n\nl3",
	" l1\nl2", "l1 \nl2", "\nl", "l\n\n", "a\rb", "a\r\nb", "a\u2028b", "a\u0085b", strings.Repeat("k", 128), strings.Repeat("k", 129),
	"otlp/9", "otlp/10", "otlp/010", "a0", "a00", "a01", "a1", "A", "B", "a_b", "a-b", "a.b", "a/b", "١٢", "x١",
}

func TestMarshalMatchesYAMLv3(t *testing.T) {
	values := map[string]any{}
	keys := map[string]any{}
	var list []any
	for i, s := range yamlShapes {
		if hasOtherBreak(s) {
			continue // tested in otherBreaks
		}
		values[string(rune('a'+i%26))+strings.Repeat("_", i/26)] = s
		if utf8.ValidString(s) && !hasOtherBreak(s) && !strings.Contains(s, "\n") && len(s) <= maxSimpleKey {
			keys[s] = i // the others send the whole document to yaml.v3
		}
		list = append(list, s, []any{s}, map[string]any{"k": s, "j": s})
	}
	effective, _ := loadSecrets(t)
	tests := map[string]map[string]any{
		"values": values,
		"keys":   keys,
		"list":   {"l": list, "nested": []any{[]any{[]any{"x", map[string]any{"a": "l1\nl2"}}}}},
		"scalars": {
			"int": 1, "neg": -7, "int64": int64(1) << 40, "uint64": uint64(math.MaxUint64), "int8": int8(3), "uint": uint(4),
			"float": 1.5, "big": 1e21, "f32": float32(0.1), "inf": math.Inf(1), "ninf": math.Inf(-1), "nan": math.NaN(),
			"bool": true, "nil": nil, "dur": 5 * time.Second, "time": time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC),
			"bytes": []byte("b"), "strs": []string{"x", "y"}, "smap": map[string]string{"password": "p", "b": "c"},
			"emptymap": map[string]any{}, "nilmap": map[string]any(nil), "emptylist": []any{}, "nillist": []any(nil),
			"imap": map[int]any{1: 2}, "ptr": new(int),
		},
		"secrets":     effective.ToStringMap(),
		"large":       largeConfig(20),
		"badkeys":     {"a\xffb": 1, "c": 2},
		"otherBreaks": {"a": "a\rb", "b": []any{"a\u2028b"}},
		"multikey":    {"a\nb": 1},
		"longkey":     {strings.Repeat("x", 200): map[string]any{"y": 1}},
		"empty":       {},
		"nilTree":     nil,
		"headers":     {"h": []any{map[string]any{"name": "Authorization", "value": "Bearer x"}}},
		"secretMap":   {"credentials": map[string]any{"a": []any{1, "x", map[string]any{"b": nil}}}},
	}
	// Only these few send the whole document to yaml.v3: the others test
	// yamlWriter.
	wholeByYAMLv3 := map[string]bool{"badkeys": true, "otherBreaks": true, "multikey": true, "longkey": true}
	for name, tree := range tests {
		t.Run(name, func(t *testing.T) {
			assertMatchesYAMLv3(t, tree)
			var w yamlWriter
			assert.Equal(t, wholeByYAMLv3[name], errors.Is(w.document(tree), errNeedsYAMLv3))
		})
	}
}

func assertMatchesYAMLv3(t *testing.T, tree map[string]any) {
	t.Helper()
	want, err := encodeYAMLv3(redactMap(tree, false))
	require.NoError(t, err)
	got, err := Marshal(tree)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

// FuzzMarshalMatchesYAMLv3 checks that Marshal writes, for any document
// and any string as a key, a value and a list item, the bytes yaml.v3
// writes for the redacted tree.
func FuzzMarshalMatchesYAMLv3(f *testing.F) {
	for _, s := range yamlShapes {
		f.Add("a: [1, {b: c}]", s)
	}
	f.Add("headers: {Authorization: Bearer x}\nl: [[a, b], {c: d}]", "l1\n  l2")
	f.Fuzz(func(t *testing.T, doc, s string) {
		var tree any
		if err := yaml.Unmarshal([]byte(doc), &tree); err != nil {
			tree = doc
		}
		assertMatchesYAMLv3(t, map[string]any{
			"tree": tree,
			s:      s,
			"l":    []any{s, []any{s, map[string]any{s: []any{s}}}},
			"m":    map[string]any{"name": s, "value": s, "k": map[string]any{s: s}},
		})
	})
}

func TestCompareKeysIsYAMLv3Order(t *testing.T) {
	for _, a := range yamlShapes {
		for _, b := range yamlShapes {
			if a == b || !utf8.ValidString(a) || !utf8.ValidString(b) {
				continue
			}
			text, err := encodeYAMLv3(map[string]any{a: 1, b: 2})
			require.NoError(t, err)
			var order yaml.Node
			require.NoError(t, yaml.Unmarshal(text, &order))
			first := order.Content[0].Content[0].Value
			if compareKeys(a, b) < 0 {
				assert.Equal(t, a, first, "%q before %q", a, b)
			} else if compareKeys(b, a) < 0 {
				assert.Equal(t, b, first, "%q before %q", b, a)
			}
		}
	}
}
