package effectiveconfig

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

// The golden files under testdata/golden are what Build reported before the
// report was built from a tree without Go maps: a faster build must report
// the same bytes. Regenerate them only for an intended change of output:
// go test -run TestBuildGolden -update-golden ./internal/effectiveconfig/
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current Build")

// goldenCase is one configuration snapshot Build reports.
type goldenCase struct {
	effective, unexpanded *confmap.Conf
	includeUnexpanded     bool
}

func goldenCases(t *testing.T) map[string]goldenCase {
	effective, unexpanded := loadSecrets(t)
	shapesEff, shapesSrc := shapesConfig()
	odd := confmap.NewFromStringMap(map[string]any{
		// Shapes only yaml.v3 renders: the whole document goes to it.
		"bad\xffkey": "v", "multi\nline key": map[string]any{"token": "t", "x": 1},
		"ok": map[string]any{"endpoint": "https://u:p@h", "l": []any{"a", 1}},
	})
	// Flattened, "b:" then ":c" is b::::c, a key under the leaf b (or
	// under the empty map b): treeOf replaces the one, adds to the other.
	underLeaf := confmap.NewFromStringMap(map[string]any{
		"conflict":  map[string]any{"b": 1, "b:": map[string]any{":c": 2}},
		"conflict2": map[string]any{"b": map[string]any{}, "b:": map[string]any{":c": 2}},
		"other":     map[string]any{"token": "t", "l": []any{"https://u:p@h"}},
	})
	return map[string]goldenCase{
		"secrets":       {effective, unexpanded, true},
		"secrets_noraw": {effective, nil, false},
		"large600":      {confmap.NewFromStringMap(largeConfig(200)), confmap.NewFromStringMap(largeSource(200)), true},
		"shapes":        {confmap.NewFromStringMap(shapesEff), confmap.NewFromStringMap(shapesSrc), true},
		"keyunderleaf":  {underLeaf, underLeaf, true},
		"yamlv3":        {odd, odd, true},
		"nil":           {confmap.NewFromStringMap(nil), confmap.NewFromStringMap(nil), true},
		"empty":         {confmap.New(), confmap.New(), true},
	}
}

func TestBuildGolden(t *testing.T) {
	for name, c := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			msg, err := Build(c.effective, c.unexpanded, c.includeUnexpanded)
			require.NoError(t, err)
			files := msg.GetConfigMap().GetConfigMap()
			for key, suffix := range map[string]string{EffectiveConfigKey: "effective", UnexpandedConfigKey: "raw"} {
				path := filepath.Join("testdata", "golden", name+"."+suffix+".yaml")
				f, ok := files[key]
				if *updateGolden {
					if !ok {
						if err := os.Remove(path); !errors.Is(err, os.ErrNotExist) {
							require.NoError(t, err)
						}
						continue
					}
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
					require.NoError(t, os.WriteFile(path, f.GetBody(), 0o600))
					continue
				}
				want, err := os.ReadFile(path)
				if !ok {
					require.ErrorIs(t, err, os.ErrNotExist, "%s: reported no %q body", name, key)
					continue
				}
				require.NoError(t, err)
				if got := f.GetBody(); string(got) != string(want) {
					t.Fatalf("%s differs from %s at byte %d:\n got: %q\nwant: %q", name, path,
						firstDiff(got, want), around(got, firstDiff(got, want)), around(want, firstDiff(got, want)))
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func around(b []byte, i int) string {
	return string(b[max(0, i-80):min(len(b), i+80)])
}

// largeSource is largeConfig(n) as written: some values come from
// references, secret-named or not, one of them expanding to a whole map.
func largeSource(n int) map[string]any {
	src := largeConfig(n)
	exporters := src["exporters"].(map[string]any)
	for i := range n {
		exp := exporters[fmt.Sprintf("otlphttp/%d", i)].(map[string]any)
		exp["headers"] = map[string]any{"Authorization": fmt.Sprintf("Bearer ${env:TOKEN_%d}", i), "X-Tenant": "${env:TENANT}"}
		if i%10 == 0 {
			exp["tls"] = "${env:TLS_SECRET}"
		}
	}
	src["processors"].(map[string]any)["batch/0"] = map[string]any{"timeout": "${env:BATCH_TIMEOUT}", "send_batch_size": 8192}
	return src
}

// shapesConfig is an effective configuration and its source holding the
// shapes a tree of leaves must keep apart: empty and nil maps, lists of
// maps, keys holding the delimiter (one of them a leaf another key goes
// through), header lists, references that expand to maps, keys the
// component renders in another case, and values of types confmap does
// not produce itself.
func shapesConfig() (eff, src map[string]any) {
	eff = map[string]any{
		"empty": map[string]any{}, "nil": nil, "nilmap": map[string]any(nil),
		"list": []any{map[string]any{"a": 1, "password": "p"}, []any{"b"}, map[string]any{}},
		"deep": map[string]any{"a": map[string]any{"b": map[string]any{"c": "d", "e": map[string]any{}}}},
		"":     map[string]any{"": "x"}, "a::b": map[string]any{"c": 1}, "a": map[string]any{"d": 2},
		"clash::x": "leaf", "clash": map[string]any{"x": map[string]any{"y": "deeper"}},
		"clash2::x": map[string]any{}, "clash2": map[string]any{"x": map[string]any{"y": 1}},
		"a:": map[string]any{":b": "colons", "c:": "d"}, "a:::b": "three",
		"headers":    []any{map[string]any{"name": "Authorization", "value": "v1"}, map[string]any{"name": "X", "value": "v2"}},
		"kv":         []any{map[string]any{"key": "api-key", "value": "v3"}, map[string]any{"Name": "X-Token", "Value": "v4"}},
		"Hdrs":       map[string]any{"X-Token": "abc", "Other": "o", "Plain": "p"},
		"expanded":   map[string]any{"k": "v", "n": 3, "inner": map[string]any{"z": []any{1, "two"}}},
		"pairs":      []any{map[string]any{"name": "X-Custom", "value": "sekrit"}, map[string]any{"name": "Y", "value": "y"}},
		"CaseKey":    "val",
		"twin":       map[string]any{"Ab": "1", "aB": "2"},
		"block":      "line1\nline2\n\nline4\n",
		"secret_num": map[string]any{"password": 1234, "token": 1.5, "api_key": true, "dsn": nil, "secret": "", "credentials": map[string]any{}},
		"dur":        5 * time.Second, "strs": []string{"a", "https://u:p@h"},
		"smap":    map[string]string{"password": "x", "b": "c"},
		"bytes":   []byte("token=abc"),
		"listref": []any{"a", "b", map[string]any{"value": "c"}},
		"reflist": map[string]any{"a": 1},
		"numbers": map[string]any{"10": "ten", "9": "nine", "a10": 1, "a9": 2, "-1": 0, "1.5": 0},
		"quoted":  map[string]any{"yes": "no", "null": "~", "x": "123", "y": "1e3", "z": "  lead", "colon": "a: b", "hash": "a #b"},
		"uni":     map[string]any{"ключ": "значение", "emoji🔑": "v", "token_ü": "s"},
	}
	src = map[string]any{}
	for k, v := range eff {
		src[k] = v
	}
	src["Hdrs"] = map[string]any{"x-token": "${env:X_TOKEN}", "other": "${env:OTHER}", "Plain": "p"}
	src["expanded"] = "${env:SECRET_MAP}"
	src["pairs"] = map[string]any{"X-Custom": "${env:CUSTOM_TOKEN}", "Y": "y"}
	src["casekey"] = "${env:API_TOKEN}"
	src["twin"] = map[string]any{"ab": "${env:PASSWORD}"}
	src["listref"] = []any{"${env:A}", "x ${env:SECRET_TOKEN}", map[string]any{"value": "${file:/run/secrets/c}"}}
	src["reflist"] = []any{"${env:SECRET}"}
	src["deep"] = map[string]any{"a": map[string]any{"b": "${env:DEEP_SECRET}"}}
	src["list"] = []any{map[string]any{"a": "${env:A_TOKEN}"}, "${env:B_SECRET}"}
	src["clash"] = map[string]any{"x": map[string]any{"y": "${env:Y_TOKEN}"}}
	src["uni"] = map[string]any{"КЛЮЧ": "${env:KEY_SECRET}"}
	src["block"] = strings.Repeat("${env:NOT_A_SECRET}\n", 2)
	return eff, src
}
