package remoteconfig

import (
	"context"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

func localConf(dir string) *confmap.Conf {
	return confmap.NewFromStringMap(map[string]any{
		"extensions": map[string]any{"opamp": map[string]any{
			"capabilities": map[string]any{"accepts_remote_config": true},
			"storage":      map[string]any{"directory": dir},
		}},
		"service": map[string]any{"extensions": []any{"opamp"}},
	})
}

var remotePart = &Config{Hash: []byte("h"), Files: map[string]File{"": {Body: "receivers:\n  nop:\n"}}}

// TestConvertCandidateOfAnotherProcess: a candidate left by an earlier
// process (kill -9 during an apply) is FAILED, and the last healthy
// config runs; this process's own candidate is loaded.
func TestConvertCandidateOfAnotherProcess(t *testing.T) {
	for _, tc := range []struct {
		name       string
		owner      string
		wantRemote bool
		wantStatus string
	}{
		{"this process", processToken, true, "APPLYING"},
		{"an earlier process", "dead-process", false, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := openStore(dir)
			require.NoError(t, err)
			_, err = s.update(func(st *State) bool {
				st.Candidate, st.Owner = remotePart, tc.owner
				st.Status = Status{Hash: []byte("h"), Status: "APPLYING"}
				return true
			})
			require.NoError(t, err)
			conf := localConf(dir)
			require.NoError(t, Convert(context.Background(), conf, zap.NewNop()))
			assert.Equal(t, tc.wantRemote, conf.IsSet("receivers::nop"))
			st, err := s.load()
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus, st.Status.Status)
			assert.Equal(t, tc.wantRemote, st.Loaded)
		})
	}
}

func TestConvertLeavesOtherConfigsAlone(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{"extensions": map[string]any{"opamp": map[string]any{"instance_uid": "x"}}})
	before := conf.ToStringMap()
	require.NoError(t, Convert(context.Background(), conf, zap.NewNop()))
	assert.Equal(t, before, conf.ToStringMap())
}

func TestConvertDisabled(t *testing.T) {
	dir := t.TempDir()
	s, err := openStore(dir)
	require.NoError(t, err)
	_, err = s.update(func(st *State) bool { st.Active = remotePart; return true })
	require.NoError(t, err)
	t.Setenv(DisableEnv, "1")
	conf := localConf(dir)
	require.NoError(t, Convert(context.Background(), conf, zap.NewNop()))
	assert.False(t, conf.IsSet("receivers::nop"), "the validation run checks only its file")
}
