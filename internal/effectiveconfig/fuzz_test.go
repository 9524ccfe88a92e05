package effectiveconfig

import (
	"reflect"
	"regexp"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"

	"github.com/opampext/opampextension/internal/utf8fix"
)

// fuzzSecretKeys are keys under which a planted secret must never survive.
var fuzzSecretKeys = []string{"password", "api_key", "X-Api-Key", "client_secret", "token", "Authorization", "private_key", "dsn"}

var alnum = regexp.MustCompile(`^[A-Za-z0-9]{4,}$`)

// FuzzRedact feeds arbitrary YAML documents and strings through Redact and
// checks that it never panics, that it is idempotent, and that secrets
// planted under a secret key, in URL userinfo and in a header pair never
// survive.
func FuzzRedact(f *testing.F) {
	seeds := []struct {
		doc    string
		secret string
		key    uint8
	}{
		{"a: 1", "hunter2", 0},
		{"headers: {Authorization: Bearer x}", "tok-123", 1},
		{"endpoints: [https://u:p@h, http://h2]", "p4ss", 2},
		{"url: https://h/?api_key=k&x=y", "${env:X}", 3},
		{"dsn: postgres://u:p@h:5432/db?sslmode=disable", "${env:A:-lit}", 4},
		{"list: [{name: X-Api-Key, value: v}]", "", 5},
		{"s: 'password=a b user=c'", "Bearer abc", 6},
		{"s: \"https://a@b@c/d?token=${env:T}\"", "a:b@c", 7},
		{"nested: {credentials: {a: [1, {b: c}]}}", "[REDACTED]", 0},
	}
	for _, s := range seeds {
		f.Add(s.doc, s.secret, s.key)
	}
	f.Fuzz(func(t *testing.T, doc, secret string, keyIdx uint8) {
		var tree any
		if err := yaml.Unmarshal([]byte(doc), &tree); err != nil {
			tree = doc
		}
		key := fuzzSecretKeys[int(keyIdx)%len(fuzzSecretKeys)]
		planted := map[string]any{
			"tree":   tree,
			"plain":  doc,
			key:      secret,
			"nested": map[string]any{key: map[string]any{"x": []any{secret}}},
			"header": map[string]any{"name": key, "value": secret},
		}

		once := Redact(planted)
		twice := Redact(once)
		if !reflect.DeepEqual(once, twice) {
			t.Fatalf("not idempotent:\n once: %#v\ntwice: %#v", once, twice)
		}
		if _, err := Marshal(planted); err != nil {
			t.Fatalf("Marshal: %v", err)
		}

		out := once.(map[string]any)
		wantSecret := any(Placeholder)
		if secret == "" || (isRefOnly(secret) && isRefOnly(scrubString(secret))) {
			// A bare reference stays, made valid UTF-8 as every string is.
			wantSecret, _ = utf8fix.String(scrubString(secret))
		}
		checks := map[string]any{
			"direct": out[key],
			"nested": out["nested"].(map[string]any)[key].(map[string]any)["x"].([]any)[0],
			"header": out["header"].(map[string]any)["value"],
		}
		for name, got := range checks {
			if got != wantSecret {
				t.Fatalf("%s: secret %q under %q survived as %#v", name, secret, key, got)
			}
		}

		if alnum.MatchString(secret) {
			url := Redact("https://user:" + secret + "@host.example/path?api_key=" + secret)
			if want := "https://[REDACTED]@host.example/path?api_key=[REDACTED]"; url != want {
				t.Fatalf("url secret survived: %q", url)
			}
		}
	})
}

// FuzzBuild walks two arbitrary trees together, as Build does with the
// effective and unexpanded configurations, and checks that it never
// panics, never mutates its input, and that a secret expanded from a
// secret-named reference under a neutral key never survives.
func FuzzBuild(f *testing.F) {
	seeds := []struct{ eff, src, secret string }{
		{"a: 1", "a: ${env:X}", "hunter2"},
		{"l: [x, {value: v}]", "l: [x, {value: '${env:API_TOKEN}'}]", "tok-123"},
		{"m: {a: [1, 2]}", "m: [${env:SECRET}]", "Bearer abc"},
		{"headers: [{name: X, value: v}]", "headers: {X: '${file:/run/secrets/x}'}", ""},
		{"v: a", "v: '$${env:TOKEN} ${env:${env:P}_KEY}'", "${env:A}"},
	}
	for _, s := range seeds {
		f.Add(s.eff, s.src, s.secret)
	}
	f.Fuzz(func(t *testing.T, effDoc, srcDoc, secret string) {
		eff, src := fuzzTree(effDoc), fuzzTree(srcDoc)
		eff["planted"] = map[string]any{"value": secret, "list": []any{"x", secret}}
		src["planted"] = map[string]any{"value": "${env:FUZZ_TOKEN}", "list": []any{"x", "pre-${FUZZ_SECRET}-post"}}
		before := Redact(eff)

		// Swapped and self-paired trees: shapes and references anywhere.
		redactMapBySource(src, eff)
		redactMapBySource(eff, eff)
		out, changed := redactMapBySource(eff, src)
		if !changed {
			t.Fatal("planted references not seen")
		}
		if !reflect.DeepEqual(before, Redact(eff)) {
			t.Fatal("input mutated")
		}
		if _, err := Marshal(out); err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		want := redactString(secret, true)
		planted := Redact(out).(map[string]any)["planted"].(map[string]any)
		if got := planted["value"]; got != want {
			t.Fatalf("exact: secret %q survived as %#v", secret, got)
		}
		if got := planted["list"].([]any)[1]; got != want {
			t.Fatalf("embedded: secret %q survived as %#v", secret, got)
		}
	})
}

// fuzzTree parses doc as a YAML mapping, or returns an empty one.
func fuzzTree(doc string) map[string]any {
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(doc), &tree); err != nil || tree == nil {
		return map[string]any{}
	}
	return tree
}

// FuzzBuildNodeTrees checks that Build's bodies, built over node trees,
// are those the same configurations give built over Go maps, for
// arbitrary pairs of trees: keys with colons and delimiters, references
// anywhere, and shapes that differ between the two.
func FuzzBuildNodeTrees(f *testing.F) {
	seeds := []struct{ eff, src string }{
		{"a: {b: 1, 'b:': {':c': 2}}", "a: {b: '${env:TOKEN}'}"},
		{"'a::b': {c: 1}\na: {d: [1, {e: f}]}", "a: {d: ['${env:SECRET}', {e: '${env:X}'}]}"},
		{"m: {k: v, n: 3}\nh: [{name: X, value: v}]", "m: ${env:SECRET_MAP}\nh: {x: '${env:X_TOKEN}'}"},
		{"Hdrs: {X-Token: a, x-token: b}\nl: []\ne: {}", "hdrs: {X-TOKEN: '${env:PASSWORD}'}\ne: '${env:E_KEY}'"},
		{"'': {'': x}\n'a:': {':b': 1}\nk: \"multi\\nline\"", "'': {'': '${env:API_KEY}'}"},
	}
	for _, s := range seeds {
		f.Add(s.eff, s.src)
	}
	f.Fuzz(func(t *testing.T, effDoc, srcDoc string) {
		effective := confmap.NewFromStringMap(fuzzTree(effDoc))
		unexpanded := confmap.NewFromStringMap(fuzzTree(srcDoc))
		for _, src := range []*confmap.Conf{unexpanded, effective, nil} {
			include := src != nil
			body, raw, err := bodies(effective, src, include)
			wantBody, wantRaw, wantErr := bodiesByMaps(effective, src, include)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("error %v, over maps %v", err, wantErr)
			}
			if string(body) != string(wantBody) || string(raw) != string(wantRaw) {
				t.Fatalf("node trees:\n%s\n%s\nGo maps:\n%s\n%s", body, raw, wantBody, wantRaw)
			}
		}
	})
}
