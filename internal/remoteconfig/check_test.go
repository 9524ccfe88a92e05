package remoteconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAndCheck(t *testing.T) {
	rules := Rules{Own: "opamp/main", Protected: []string{"bearertokenauth/opamp"}, Denied: []string{"exec"}}
	local := map[string]any{"service": map[string]any{"extensions": []any{"opamp/main"}}}
	for _, tc := range []struct {
		name  string
		files map[string]File
		want  error
	}{
		{"fine", map[string]File{"": {Body: "receivers:\n  nop:\n"}}, nil},
		{"escaped dollar is text", map[string]File{"": {Body: "processors:\n  x:\n    v: $${env:HOME}\n"}}, nil},
		{"json", map[string]File{"": {ContentType: "application/json", Body: "{}"}}, ErrContentType},
		{"yaml", map[string]File{"a": {Body: "a: [b"}}, ErrYAML},
		{"env ref", map[string]File{"": {Body: "processors:\n  x:\n    v: ${env:HOME}\n"}}, ErrProvider},
		{"ref in a key", map[string]File{"": {Body: "processors:\n  ${env:X}: {}\n"}}, ErrProvider},
		{"ref in a list", map[string]File{"": {Body: "processors:\n  x:\n    v: [a, '${file:/etc/shadow}']\n"}}, ErrProvider},
		{"own extension", map[string]File{"": {Body: "extensions:\n  opamp/main: {}\n"}}, ErrLockOut},
		{"its auth", map[string]File{"": {Body: "extensions:\n  bearertokenauth/opamp:\n    token: x\n"}}, ErrLockOut},
		{"dropped from service", map[string]File{"": {Body: "service:\n  extensions: [health_check]\n"}}, ErrLockOut},
		{"denied type", map[string]File{"": {Body: "receivers:\n  exec/x: {}\n"}}, ErrComponent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := mergeChecked(local, &Config{Files: tc.files}, rules)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

func TestAllowedComponents(t *testing.T) {
	rules := Rules{Own: "opamp", Allowed: []string{"otlp", "batch"}}
	remote, err := parse(map[string]File{"": {Body: "receivers:\n  otlp: {}\nprocessors:\n  batch/x: {}\n"}}, nil)
	require.NoError(t, err)
	require.NoError(t, checkRemote(remote.conf, rules))
	remote, err = parse(map[string]File{"": {Body: "receivers:\n  filelog: {}\n"}}, nil)
	require.NoError(t, err)
	assert.ErrorIs(t, checkRemote(remote.conf, rules), ErrComponent)
}

// TestMergeOrder: files merge in the order of their keys, later winning.
func TestMergeOrder(t *testing.T) {
	remote, err := parse(map[string]File{
		"b": {Body: "x: from-b\n"},
		"":  {Body: "x: from-empty\ny: kept\n"},
		"a": {Body: "x: from-a\n"},
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, "from-b", remote.conf.Get("x"))
	assert.Equal(t, "kept", remote.conf.Get("y"))
}

func TestUnescapeAndRender(t *testing.T) {
	remote, err := parse(map[string]File{"": {Body: "v: $${x}\n"}}, nil)
	require.NoError(t, err)
	assert.Equal(t, "${x}", remote.conf.Get("v"), "as the resolver leaves a local $${x}")
	y, err := renderYAML(remote.conf)
	require.NoError(t, err)
	assert.Contains(t, string(y), "$${x}", "rendered for a fresh resolve, which must not expand it")
}
