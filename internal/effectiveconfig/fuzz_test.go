package effectiveconfig

import (
	"reflect"
	"regexp"
	"testing"

	"gopkg.in/yaml.v3"
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
			wantSecret = scrubString(secret)
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
