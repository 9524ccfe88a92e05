package effectiveconfig

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type namedString string

type failingText struct{}

func (failingText) MarshalText() ([]byte, error) { return nil, errors.New("boom") }

type upperText string

func (u upperText) MarshalText() ([]byte, error) { return []byte("https://u:p@" + string(u)), nil }

func TestRedact(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"scalar", 42, 42},
		{
			name: "secret scalars of any type",
			in:   map[string]any{"password": "p", "token": 123, "api_key": 1.5, "secret": true, "credentials": time.Second},
			want: map[string]any{"password": Placeholder, "token": Placeholder, "api_key": Placeholder, "secret": Placeholder, "credentials": Placeholder},
		},
		{
			name: "empty and nil secrets stay",
			in:   map[string]any{"password": "", "token": nil},
			want: map[string]any{"password": "", "token": nil},
		},
		{
			name: "every leaf under a secret key",
			in:   map[string]any{"credentials": map[string]any{"user": "u", "list": []any{"a", map[string]any{"x": 1}}}},
			want: map[string]any{"credentials": map[string]any{"user": Placeholder, "list": []any{Placeholder, map[string]any{"x": Placeholder}}}},
		},
		{
			name: "env reference kept",
			in:   map[string]any{"token": "${env:API_TOKEN}", "password": "${env:P:-fallback}"},
			want: map[string]any{"token": "${env:API_TOKEN}", "password": Placeholder},
		},
		{
			name: "paths and urls kept",
			in:   map[string]any{"key_file": "/k.pem", "token_url": "https://u:p@auth/t", "max_tokens": 100, "key": "k"},
			want: map[string]any{"key_file": "/k.pem", "token_url": "https://[REDACTED]@auth/t", "max_tokens": 100, "key": "k"},
		},
		{
			name: "header list pairs",
			in: []any{
				map[string]any{"name": "Authorization", "value": "Bearer abc"},
				map[string]any{"key": "x-api-key", "value": "k"},
				map[string]any{"name": "X-Tenant", "value": "t1"},
			},
			want: []any{
				map[string]any{"name": "Authorization", "value": Placeholder},
				map[string]any{"key": "x-api-key", "value": Placeholder},
				map[string]any{"name": "X-Tenant", "value": "t1"},
			},
		},
		{
			name: "header map",
			in:   map[string]any{"headers": map[string]any{"Authorization": "Basic x", "User-Agent": "otelcol"}},
			want: map[string]any{"headers": map[string]any{"Authorization": Placeholder, "User-Agent": "otelcol"}},
		},
		{
			name: "strings scrubbed under any key",
			in:   map[string]any{"endpoints": []any{"https://u:p@h1", "https://h2"}},
			want: map[string]any{"endpoints": []any{"https://[REDACTED]@h1", "https://h2"}},
		},
		{
			name: "typed containers",
			in:   map[string]any{"headers": map[string]string{"api-key": "k", "a": "b"}, "tokens": []string{"t1"}, "ports": [2]int{1, 2}},
			want: map[string]any{"headers": map[string]any{"api-key": Placeholder, "a": "b"}, "tokens": []any{Placeholder}, "ports": []any{1, 2}},
		},
		{
			name: "named and marshalled scalars",
			in:   map[string]any{"password": namedString("p"), "mode": namedString("fast"), "url": upperText("h"), "bad": failingText{}},
			want: map[string]any{"password": Placeholder, "mode": "fast", "url": "https://[REDACTED]@h", "bad": Placeholder},
		},
		{
			name: "uninspectable values",
			in:   map[string]any{"f": func() {}, "c": make(chan int), "s": struct{ Password string }{"p"}, "m": map[int]string{1: "a"}},
			want: map[string]any{"f": Placeholder, "c": Placeholder, "s": Placeholder, "m": Placeholder},
		},
		{
			name: "pointers",
			in:   map[string]any{"token": ptr("t"), "nilptr": (*string)(nil)},
			want: map[string]any{"token": Placeholder, "nilptr": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, Redact(got), "not idempotent")
		})
	}
}

func TestRedactDoesNotMutate(t *testing.T) {
	in := map[string]any{
		"password": "p",
		"nested":   map[string]any{"token": "t", "list": []any{"https://u:p@h", map[string]any{"secret": "s"}}},
	}
	got := Redact(in).(map[string]any)
	require.Equal(t, "p", in["password"])
	nested := in["nested"].(map[string]any)
	assert.Equal(t, "t", nested["token"])
	list := nested["list"].([]any)
	assert.Equal(t, "https://u:p@h", list[0])
	assert.Equal(t, "s", list[1].(map[string]any)["secret"])

	// The copy shares no containers with the input.
	got["nested"].(map[string]any)["list"].([]any)[0] = "changed"
	assert.Equal(t, "https://u:p@h", list[0])
}

func ptr[T any](v T) *T { return &v }
