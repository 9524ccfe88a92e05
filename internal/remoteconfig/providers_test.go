package remoteconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/effectiveconfig"
)

// localAllowing is a resolved local config whose opamp extension allows
// the schemes (nil: the key is absent).
func localAllowing(dir string, allowed any) map[string]any {
	ext := map[string]any{
		"capabilities": map[string]any{"accepts_remote_config": true},
		"storage":      map[string]any{"directory": dir},
	}
	if allowed != nil {
		ext["remote_config"] = map[string]any{"allowed_providers": allowed}
	}
	return map[string]any{
		"extensions": map[string]any{"opamp": ext},
		"service":    map[string]any{"extensions": []any{"opamp"}},
	}
}

// TestAllowedProviders: an allowed scheme's references are expanded by
// its real provider; any other scheme, a reference in a key, and one
// whose scheme another reference computes are refused naming the scheme
// and the path; "$${...}" stays literal text.
func TestAllowedProviders(t *testing.T) {
	t.Setenv("OPAMPEXT_TEST_LEVEL", "detailed")
	t.Setenv("OPAMPEXT_TEST_SMUGGLE", "${file:/etc/hostname}")
	t.Setenv("OPAMPEXT_TEST_SCHEME", "file")
	tokenFile := filepath.Join(t.TempDir(), "endpoint")
	require.NoError(t, os.WriteFile(tokenFile, []byte("127.0.0.1:4318"), 0o600))
	sub := filepath.Join(t.TempDir(), "tls.yaml")
	require.NoError(t, os.WriteFile(sub, []byte("insecure: true\n"), 0o600))
	exts := filepath.Join(t.TempDir(), "extensions.yaml")
	require.NoError(t, os.WriteFile(exts, []byte("opamp:\n  server: {}\n"), 0o600))
	pipes := filepath.Join(t.TempDir(), "service.yaml")
	require.NoError(t, os.WriteFile(pipes, []byte("extensions: [health_check]\n"), 0o600))
	const at = "exporters::debug::verbosity"
	for _, tc := range []struct {
		name    string
		allowed any
		body    string
		path    string // of the value checked
		want    any
		wantErr error
		// inErr: what the refusal names (scheme and path).
		inErr []string
	}{
		{name: "env allowed", allowed: []any{"env"}, body: "exporters:\n  debug:\n    verbosity: ${env:OPAMPEXT_TEST_LEVEL}\n", path: at, want: "detailed"},
		{name: "bare reference is env", allowed: []any{"env"}, body: "exporters:\n  debug:\n    verbosity: ${OPAMPEXT_TEST_LEVEL}\n", path: at, want: "detailed"},
		{name: "embedded", allowed: []any{"env"}, body: "exporters:\n  debug:\n    verbosity: x-${env:OPAMPEXT_TEST_LEVEL}-y\n", path: at, want: "x-detailed-y"},
		{name: "one scheme as a string", allowed: "env", body: "exporters:\n  debug:\n    verbosity: ${env:OPAMPEXT_TEST_LEVEL}\n", path: at, want: "detailed"},
		{name: "file allowed", allowed: []any{"file"}, body: "exporters:\n  otlphttp:\n    endpoint: ${file:" + tokenFile + "}\n", path: "exporters::otlphttp::endpoint", want: "127.0.0.1:4318"},
		{name: "file expands to a map", allowed: []any{"file"}, body: "exporters:\n  otlp:\n    tls: ${file:" + sub + "}\n", path: "exporters::otlp::tls::insecure", want: true},
		{name: "lock-out through a file", allowed: []any{"file"}, body: "extensions: ${file:" + exts + "}\n", wantErr: ErrLockOut, inErr: []string{"extensions::opamp"}},
		{name: "dropped from service through a file", allowed: []any{"file"}, body: "service: ${file:" + pipes + "}\n", wantErr: ErrLockOut},
		{name: "escape stays literal", allowed: []any{"env"}, body: "exporters:\n  debug:\n    verbosity: $${env:OPAMPEXT_TEST_LEVEL}\n", path: at, want: "${env:OPAMPEXT_TEST_LEVEL}"},
		{name: "escape beside a reference", allowed: []any{"env"}, body: "exporters:\n  debug:\n    verbosity: ${env:OPAMPEXT_TEST_LEVEL}/$${env:X}\n", path: at, want: "detailed/${env:X}"},
		{name: "escape with nothing allowed", body: "exporters:\n  debug:\n    verbosity: $${file:/etc/passwd}\n", path: at, want: "${file:/etc/passwd}"},
		{name: "env by default refused", body: "exporters:\n  debug:\n    verbosity: ${env:OPAMPEXT_TEST_LEVEL}\n", wantErr: ErrProvider, inErr: []string{`"env"`, at}},
		{name: "http not allowed", allowed: []any{"env", "file"}, body: "exporters:\n  debug:\n    verbosity: ${http://127.0.0.1:1/x}\n", wantErr: ErrProvider, inErr: []string{`"http"`, at}},
		{name: "file not allowed beside env", allowed: []any{"env"}, body: "exporters:\n  debug:\n    verbosity: [a, '${file:/etc/passwd}']\n", wantErr: ErrProvider, inErr: []string{`"file"`, at + "[1]"}},
		{name: "nested scheme not allowed", allowed: []any{"file"}, body: "exporters:\n  debug:\n    verbosity: ${file:${env:HOME}/x}\n", wantErr: ErrProvider, inErr: []string{`"env"`}},
		{name: "computed scheme", allowed: []any{"env", "file"}, body: "exporters:\n  debug:\n    verbosity: ${${env:OPAMPEXT_TEST_SCHEME}:/etc/passwd}\n", wantErr: ErrProvider, inErr: []string{"computed"}},
		{name: "reference in a key", allowed: []any{"env"}, body: "processors:\n  ${env:X}: {}\n", wantErr: ErrProvider, inErr: []string{"in a key", "processors::${env:X}"}},
		{name: "a value naming another scheme", allowed: []any{"env"}, body: "exporters:\n  debug:\n    verbosity: ${env:OPAMPEXT_TEST_SMUGGLE}\n", wantErr: ErrResolve, inErr: []string{"file"}},
		{name: "unreadable file", allowed: []any{"file"}, body: "exporters:\n  debug:\n    verbosity: ${file:/nonexistent/opampext}\n", wantErr: ErrResolve},
		{name: "scheme without a provider", allowed: []any{"http"}, body: "exporters:\n  debug:\n    verbosity: ${http://127.0.0.1:1/x}\n", wantErr: ErrUnknownProvider},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := localAllowing("/nonexistent", tc.allowed)
			_, merged, err := mergeChecked(local, &Config{Files: map[string]File{"": {Body: tc.body}}}, Rules{Own: "opamp"})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				for _, s := range tc.inErr {
					assert.Contains(t, err.Error(), s)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, merged.Get(tc.path))
		})
	}
}

func TestCheckAllowedProviders(t *testing.T) {
	require.NoError(t, CheckAllowedProviders(nil))
	require.NoError(t, CheckAllowedProviders([]string{"env", "file"}))
	assert.ErrorIs(t, CheckAllowedProviders([]string{"env", "http"}), ErrUnknownProvider)
}

// TestConvertResolvesAllowed: the converter expands an allowed reference
// of the remote config in force, and keeps the remote part as written,
// which merged into the snapshot's unexpanded config redacts the value in
// the effective config by the reference it came from, as for a local one.
func TestConvertResolvesAllowed(t *testing.T) {
	t.Setenv("OPAMPEXT_TEST_WEBHOOK_SECRET", "s3cr3t-value")
	t.Setenv("OPAMPEXT_TEST_TOKEN", "t0ken-value")
	t.Setenv("OPAMPEXT_TEST_CODE", "0123")
	dir := t.TempDir()
	s, err := openStore(dir)
	require.NoError(t, err)
	body := "processors:\n  attributes:\n    actions:\n      - key: hook\n        value: ${env:OPAMPEXT_TEST_WEBHOOK_SECRET}\n" +
		"exporters:\n  otlphttp:\n    headers:\n      authorization: Bearer ${env:OPAMPEXT_TEST_TOKEN}\n" +
		"  debug:\n    code: ${env:OPAMPEXT_TEST_CODE}\n"
	_, err = s.update(func(st *State) bool {
		st.Active = &Config{Hash: []byte("h"), Files: map[string]File{"": {Body: body}}}
		return true
	})
	require.NoError(t, err)
	local := localAllowing(dir, []any{"env"})
	conf := confmap.NewFromStringMap(local)
	require.NoError(t, Convert(context.Background(), conf, zap.NewNop()))
	assert.Equal(t, "s3cr3t-value", conf.Get("processors::attributes::actions").([]any)[0].(map[string]any)["value"])
	assert.Equal(t, "Bearer t0ken-value", conf.Get("exporters::otlphttp::headers::authorization"))
	sub, err := conf.Sub("exporters::debug")
	require.NoError(t, err)
	var debug struct {
		Code string `mapstructure:"code"`
	}
	require.NoError(t, sub.Unmarshal(&debug))
	assert.Equal(t, "0123", debug.Code, "a string field gets the text, as from a local ${env:X}")

	raw := RawRemote(dir)
	require.NotNil(t, raw)
	unexpanded := confmap.NewFromStringMap(local)
	require.NoError(t, unexpanded.Merge(confmap.NewFromStringMap(raw)))
	ec, err := effectiveconfig.Build(conf, unexpanded, false)
	require.NoError(t, err)
	out := string(ec.GetConfigMap().GetConfigMap()[effectiveconfig.EffectiveConfigKey].GetBody())
	assert.NotContains(t, out, "s3cr3t-value", "redacted by its reference")
	assert.NotContains(t, out, "t0ken-value", "redacted by its key")

	// Without the remote part in the unexpanded config, only the key
	// and the text tell: the neutral key leaks.
	ec, err = effectiveconfig.Build(conf, confmap.NewFromStringMap(local), false)
	require.NoError(t, err)
	out = string(ec.GetConfigMap().GetConfigMap()[effectiveconfig.EffectiveConfigKey].GetBody())
	assert.NotContains(t, out, "t0ken-value")
	assert.Contains(t, out, "s3cr3t-value", "what RawRemote is for")

	// A resolve with nothing remote forgets it.
	_, err = s.update(func(st *State) bool { st.Active = nil; return true })
	require.NoError(t, err)
	require.NoError(t, Convert(context.Background(), confmap.NewFromStringMap(local), zap.NewNop()))
	assert.Nil(t, RawRemote(dir))
}

// recordingValidator keeps the YAML it was given and fails it, so that
// the manager reports FAILED without reloading.
type recordingValidator struct{ got chan string }

var errRecorded = errors.New("recorded")

func (v recordingValidator) Validate(_ context.Context, y []byte) error {
	v.got <- string(y)
	return errRecorded
}

// TestManagerUsesLocalAllowList: the extension's manager, whose rules
// come from its typed config, takes the allow-list from the local config
// the converter resolved: an allowed reference reaches validation
// expanded, a refused one is FAILED naming its scheme and path.
func TestManagerUsesLocalAllowList(t *testing.T) {
	t.Setenv("OPAMPEXT_TEST_LEVEL", "detailed")
	dir := t.TempDir()
	require.NoError(t, Convert(context.Background(), confmap.NewFromStringMap(localAllowing(dir, []any{"env"})), zap.NewNop()))
	v := recordingValidator{got: make(chan string, 1)}
	reports := make(chan *protobufs.RemoteConfigStatus, 8)
	m, err := New(Settings{
		Dir: dir, Rules: Rules{Own: "opamp"}, Validator: v, ApplyTimeout: time.Minute,
		Reload: func() error { t.Error("no reload expected"); return nil },
		Report: func(s *protobufs.RemoteConfigStatus) { reports <- s },
	})
	require.NoError(t, err)
	m.Start()
	defer m.Shutdown()
	send := func(hash, body string) *protobufs.RemoteConfigStatus {
		m.Receive(&protobufs.AgentRemoteConfig{ConfigHash: []byte(hash), Config: &protobufs.AgentConfigMap{
			ConfigMap: map[string]*protobufs.AgentConfigFile{"": {Body: []byte(body)}},
		}})
		for {
			select {
			case s := <-reports:
				if string(s.GetLastRemoteConfigHash()) == hash {
					return s
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no status for %s", hash)
			}
		}
	}
	st := send("env", "exporters:\n  debug:\n    verbosity: ${env:OPAMPEXT_TEST_LEVEL}\n")
	assert.Contains(t, <-v.got, "verbosity: detailed")
	assert.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, st.GetStatus())
	assert.Contains(t, st.GetErrorMessage(), errRecorded.Error())

	st = send("file", "exporters:\n  debug:\n    verbosity: ${file:/etc/passwd}\n")
	assert.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, st.GetStatus())
	assert.True(t, strings.Contains(st.GetErrorMessage(), `scheme "file"`) && strings.Contains(st.GetErrorMessage(), "exporters::debug::verbosity"), st.GetErrorMessage())
	assert.Empty(t, v.got, "refused before validation")
}
