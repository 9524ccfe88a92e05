package main

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"
)

// runsOf makes one sample per APPLIED time of in-process and the
// Supervisor, and one reload sample per healthy time (ms).
func runsOf(inProc, sup, rel []int) []sample {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var out []sample
	for _, n := range inProc {
		out = append(out, sample{Mode: inProcess, Applied: ms(n), Healthy: ms(n)})
	}
	for _, n := range sup {
		out = append(out, sample{Mode: supervised, Applied: ms(n), Healthy: ms(n / 10)})
	}
	for _, n := range rel {
		out = append(out, sample{Mode: sighup, Healthy: ms(n)})
	}
	return out
}

func TestVerdicts(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name                     string
		samples                  []sample
		verdict                  bool
		ofSupervisor, ofReload   *bool
		supervisorGoal, relRatio string
	}{
		{"both met", runsOf([]int{60, 80, 70}, []int{5000, 5100, 4900}, []int{40, 35, 45}), true, &yes, &yes, "0.01", "1.75"},
		{"over twice the reload", runsOf([]int{100}, []int{5000}, []int{40}), true, &yes, &no, "0.02", "2.50"},
		{"over a tenth of the Supervisor", runsOf([]int{600}, []int{5000}, []int{400}), true, &no, &yes, "0.12", "1.50"},
		{"quick run: no verdict", runsOf([]int{100}, []int{5000}, []int{40}), false, nil, nil, "0.02", "2.50"},
		{"a mode missing: no verdict on its goal", runsOf([]int{100}, nil, []int{40}), true, nil, &no, "–", "2.50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := rows(tc.samples, tc.verdict)
			assert.Equal(t, tc.ofSupervisor, rs[0].met)
			assert.Equal(t, tc.ofReload, rs[1].met)
			assert.Contains(t, rs[0].goal, ": "+tc.supervisorGoal)
			assert.Contains(t, rs[1].goal, ": "+tc.relRatio)
			tbl := table(rs, 3)
			assert.Equal(t, len(rs)+2, strings.Count(tbl, "\n"), "a header, a rule and a line per row")
		})
	}
}

func TestStat(t *testing.T) {
	samples := runsOf([]int{30, 10, 20, 40}, nil, nil)
	s := statOf(samples, inProcess, func(s sample) time.Duration { return s.Applied })
	assert.Equal(t, stat{median: 25, min: 10, max: 40, n: 4}, s)
	assert.Equal(t, "25 (10–40)", s.String())
	assert.Equal(t, "–", statOf(samples, sighup, func(s sample) time.Duration { return s.Applied }).String(), "the reload has no APPLIED")
	one := statOf(runsOf([]int{12}, nil, nil), inProcess, func(s sample) time.Duration { return s.Applied })
	assert.Equal(t, "12", one.String(), "one run has no range")
}

// TestChangeMergedOverLocal: the reload's file is the local config with
// the change merged over it, what our extension and the Supervisor run.
func TestChangeMergedOverLocal(t *testing.T) {
	p := ports{local: 4317, added: 4318}
	merged, err := merge(localYAML(p), changeYAML(p), opampYAML("ws://127.0.0.1:1/v1/opamp", ""))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(merged), &m))
	conf := confmap.NewFromStringMap(m)
	assert.Equal(t, []any{"otlp"}, conf.Get("service::pipelines::traces::receivers"), "the local pipeline stays")
	assert.Equal(t, []any{"otlp/2"}, conf.Get("service::pipelines::traces/2::receivers"), "the added one is there")
	assert.Equal(t, "127.0.0.1:4318", conf.Get("receivers::otlp/2::protocols::grpc::endpoint"))
	assert.Equal(t, "127.0.0.1:4317", conf.Get("receivers::otlp::protocols::grpc::endpoint"))
	assert.Equal(t, []any{"opamp"}, conf.Get("service::extensions"))
	assert.Equal(t, "none", conf.Get("service::telemetry::metrics::level"))
	assert.Nil(t, conf.Get("extensions::opamp::capabilities"), "the reload's extension does not accept remote config")

	withState, err := merge(localYAML(p), opampYAML("ws://x", "/state"))
	require.NoError(t, err)
	assert.Contains(t, withState, "accepts_remote_config: true")
	assert.Contains(t, withState, "directory: /state")

	_, err = merge("a: [")
	assert.Error(t, err, "invalid YAML")
}

func TestRemoteConfig(t *testing.T) {
	body := changeYAML(ports{local: 1, added: 2})
	rc := remoteConfig(body)
	want := sha256.Sum256([]byte(body))
	assert.Equal(t, want[:], rc.GetConfigHash())
	f := rc.GetConfig().GetConfigMap()[""]
	require.NotNil(t, f, "config map key \"\"")
	assert.Equal(t, "text/yaml", f.GetContentType())
	assert.Equal(t, body, string(f.GetBody()))
}
