package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"
)

func TestBuildRedactsSecretReferences(t *testing.T) {
	tests := []struct {
		name       string
		effective  map[string]any
		unexpanded map[string]any
		want       map[string]any
	}{
		{
			name:       "exact reference",
			effective:  map[string]any{"header": map[string]any{"key": "X-Webhook-Auth", "value": "wh-0401"}},
			unexpanded: map[string]any{"header": map[string]any{"key": "X-Webhook-Auth", "value": "${env:WEBHOOK_SECRET}"}},
			want:       map[string]any{"header": map[string]any{"key": "X-Webhook-Auth", "value": Placeholder}},
		},
		{
			name: "embedded reference",
			effective: map[string]any{
				"endpoint": "https://hooks.example.com/wh-0402",
				"auth":     "Custom wh-0403",
			},
			unexpanded: map[string]any{
				"endpoint": "https://hooks.example.com/${env:WEBHOOK_TOKEN}",
				"auth":     "Custom ${API_TOKEN}",
			},
			want: map[string]any{"endpoint": Placeholder, "auth": Placeholder},
		},
		{
			name:       "default value",
			effective:  map[string]any{"v": "lit-0404", "n": 8080},
			unexpanded: map[string]any{"v": "${env:UPSTREAM_TOKEN:-lit-0404}", "n": "${env:SECRET_PORT:-8080}"},
			want:       map[string]any{"v": Placeholder, "n": Placeholder},
		},
		{
			name: "nested list and map",
			effective: map[string]any{"attributes": map[string]any{"actions": []any{
				map[string]any{"key": "tenant", "value": "tenant-a"},
				map[string]any{"key": "upstream.auth", "value": "tok-0405"},
			}}},
			unexpanded: map[string]any{"attributes": map[string]any{"actions": []any{
				map[string]any{"key": "tenant", "value": "${env:TENANT}"},
				map[string]any{"key": "upstream.auth", "value": "${env:UPSTREAM_TOKEN}"},
			}}},
			want: map[string]any{"attributes": map[string]any{"actions": []any{
				map[string]any{"key": "tenant", "value": "tenant-a"},
				map[string]any{"key": "upstream.auth", "value": Placeholder},
			}}},
		},
		{
			name:       "file reference expanding to a map",
			effective:  map[string]any{"auth": map[string]any{"user": "u-0406", "port": 1}},
			unexpanded: map[string]any{"auth": "${file:/run/secrets/credentials.yaml}"},
			want:       map[string]any{"auth": map[string]any{"user": Placeholder, "port": Placeholder}},
		},
		{
			name:       "header map rendered as a name/value list",
			effective:  map[string]any{"headers": []any{map[string]any{"name": "X-Tenant-Auth", "value": "hv-0407"}}},
			unexpanded: map[string]any{"headers": map[string]any{"X-Tenant-Auth": "${env:TENANT_TOKEN}"}},
			want:       map[string]any{"headers": []any{map[string]any{"name": "X-Tenant-Auth", "value": Placeholder}}},
		},
		{
			name:       "non-secret names and escapes kept",
			effective:  map[string]any{"a": "tenant-a", "b": "/etc/otel/client.key", "c": "${env:API_TOKEN}", "d": "x"},
			unexpanded: map[string]any{"a": "${env:TENANT}", "b": "${env:TLS_KEY_FILE}", "c": "$${env:API_TOKEN}", "d": "x"},
			want:       map[string]any{"a": "tenant-a", "b": "/etc/otel/client.key", "c": "${env:API_TOKEN}", "d": "x"},
		},
		{
			name:       "empty secret shows it is unset",
			effective:  map[string]any{"value": ""},
			unexpanded: map[string]any{"value": "${env:API_TOKEN}"},
			want:       map[string]any{"value": ""},
		},
		{
			name: "shapes differ",
			effective: map[string]any{
				"list": []any{"a", "b", "c"}, "map": map[string]any{"x": "1"}, "s": "plain", "extra": "default",
				"short": []any{"s-0408"},
			},
			unexpanded: map[string]any{
				"list": map[string]any{"0": "${env:API_TOKEN}"}, "map": []any{"${env:API_TOKEN}"},
				"s": map[string]any{"x": "${env:API_TOKEN}"}, "short": []any{"${env:API_TOKEN}", "${env:API_TOKEN}"},
				"absent": "${env:API_TOKEN}",
			},
			want: map[string]any{
				"list": []any{"a", "b", "c"}, "map": map[string]any{"x": "1"}, "s": "plain", "extra": "default",
				"short": []any{Placeholder},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, include := range []bool{false, true} {
				msg, err := Build(confmap.NewFromStringMap(tt.effective), confmap.NewFromStringMap(tt.unexpanded), include)
				require.NoError(t, err)
				var got map[string]any
				require.NoError(t, yaml.Unmarshal(msg.GetConfigMap().GetConfigMap()[EffectiveConfigKey].GetBody(), &got))
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestBuildWithoutUnexpandedRedactsByKeyOnly(t *testing.T) {
	eff := confmap.NewFromStringMap(map[string]any{"value": "wh-0401", "token": "t-0402"})
	msg, err := Build(eff, nil, false)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, yaml.Unmarshal(msg.GetConfigMap().GetConfigMap()[EffectiveConfigKey].GetBody(), &got))
	assert.Equal(t, map[string]any{"value": "wh-0401", "token": Placeholder}, got)
}

func TestRedactBySourceDoesNotMutate(t *testing.T) {
	eff := map[string]any{
		"a": map[string]any{"value": "s-0409", "keep": "k"},
		"l": []any{"x", "s-0410"},
	}
	src := map[string]any{
		"a": map[string]any{"value": "${env:API_TOKEN}", "keep": "k"},
		"l": []any{"x", "${env:API_TOKEN}"},
	}
	got, changed := redactMapBySource(eff, src)
	assert.True(t, changed)
	assert.Equal(t, Placeholder, got["a"].(map[string]any)["value"])
	assert.Equal(t, []any{"x", Placeholder}, got["l"])
	assert.Equal(t, "s-0409", eff["a"].(map[string]any)["value"], "input mutated")
	assert.Equal(t, []any{"x", "s-0410"}, eff["l"], "input mutated")

	same, changed := redactMapBySource(eff, map[string]any{"a": map[string]any{"value": "${env:TENANT}"}})
	assert.False(t, changed)
	assert.Equal(t, eff, same)
}

func TestLookupKey(t *testing.T) {
	m := map[string]any{"Exact": 1, "X-Api": 2, "dup": 3, "DUP": 4}
	tests := []struct {
		key    string
		want   any
		wantOK bool
	}{
		{"Exact", 1, true},
		{"x-api", 2, true},
		{"dup", 3, true},
		{"Dup", nil, false},
		{"missing", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := lookupKey(m, tt.key)
			assert.Equal(t, tt.wantOK, ok)
			if tt.wantOK {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}
