package remoteconfig

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

const agentID = "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c70"

func otlpOf(endpoint string) map[string]any {
	return map[string]any{"otlp": map[string]any{"protocol": "http/protobuf", "endpoint": endpoint}}
}

var prometheus8888 = map[string]any{"pull": map[string]any{"exporter": map[string]any{"prometheus": map[string]any{
	"host": "localhost", "port": 8888, "without_scope_info": true, "without_type_suffix": true, "without_units": true,
}}}}

// TestOwnPart: the layer appends its entry to the lists the config below
// it has, keeps the Collector's default reader where none is set, raises
// a level of none, and leaves out signals the config does not report.
func TestOwnPart(t *testing.T) {
	all := []Signal{SignalMetrics, SignalLogs, SignalTraces}
	layer := &OwnTelemetry{Destinations: map[Signal]Destination{
		SignalMetrics: {Endpoint: "http://m/v1/metrics", IntervalMS: 500},
		SignalLogs:    {Endpoint: "http://l/v1/logs", Headers: []Header{{"X-Tenant", "a"}}},
		SignalTraces:  {Endpoint: "http://t/v1/traces"},
	}}
	mine := map[string]any{"periodic": map[string]any{"exporter": otlpOf("http://m/v1/metrics"), "interval": 500}}
	theirs := map[string]any{"periodic": map[string]any{"exporter": otlpOf("http://theirs/v1/metrics")}}
	logsOTLP := otlpOf("http://l/v1/logs")
	logsOTLP["otlp"].(map[string]any)["headers"] = []any{map[string]any{"name": "X-Tenant", "value": "a"}}
	for _, tc := range []struct {
		name  string
		below map[string]any // service::telemetry of the config below
		on    []Signal
		uid   string         // the agent's instance uid, "" unknown
		want  map[string]any // service::telemetry the layer sets
	}{
		{
			name: "nothing set: the default reader stays beside the new one",
			on:   []Signal{SignalMetrics},
			want: map[string]any{"metrics": map[string]any{"readers": []any{prometheus8888, mine}}},
		},
		{
			name:  "readers set: appended",
			below: map[string]any{"metrics": map[string]any{"readers": []any{theirs}}},
			on:    []Signal{SignalMetrics},
			want:  map[string]any{"metrics": map[string]any{"readers": []any{theirs, mine}}},
		},
		{
			name:  "level none: raised, no default reader",
			below: map[string]any{"metrics": map[string]any{"level": "none"}, "traces": map[string]any{"level": "None"}},
			on:    all,
			want: map[string]any{
				"metrics": map[string]any{"level": "normal", "readers": []any{mine}},
				"logs":    map[string]any{"processors": []any{map[string]any{"batch": map[string]any{"exporter": logsOTLP}}}},
				"traces":  map[string]any{"level": "basic", "processors": []any{map[string]any{"batch": map[string]any{"exporter": otlpOf("http://t/v1/traces")}}}},
			},
		},
		{
			name: "log processors appended",
			below: map[string]any{"logs": map[string]any{"processors": []any{
				map[string]any{"simple": map[string]any{"exporter": map[string]any{"console": nil}}},
			}}},
			on: []Signal{SignalLogs},
			want: map[string]any{"logs": map[string]any{"processors": []any{
				map[string]any{"simple": map[string]any{"exporter": map[string]any{"console": nil}}},
				map[string]any{"batch": map[string]any{"exporter": logsOTLP}},
			}}},
		},
		{name: "signals not reported: nothing", on: nil, uid: agentID, want: nil},
		{
			name: "instance uid known: set as the resource's service.instance.id",
			on:   []Signal{SignalTraces},
			uid:  agentID,
			want: map[string]any{
				"traces":   map[string]any{"processors": []any{map[string]any{"batch": map[string]any{"exporter": otlpOf("http://t/v1/traces")}}}},
				"resource": map[string]any{"service.instance.id": agentID},
			},
		},
		{
			name:  "the config sets service.instance.id: kept",
			below: map[string]any{"resource": map[string]any{"service.instance.id": "mine"}},
			on:    []Signal{SignalTraces},
			uid:   agentID,
			want:  map[string]any{"traces": map[string]any{"processors": []any{map[string]any{"batch": map[string]any{"exporter": otlpOf("http://t/v1/traces")}}}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			below := confmap.NewFromStringMap(map[string]any{"service": map[string]any{"telemetry": tc.below}})
			got := ownPart(below, layer, tc.on, "/state", tc.uid)
			if tc.want == nil {
				assert.Empty(t, got.ToStringMap())
				return
			}
			assert.Equal(t, tc.want, got.Get("service::telemetry"))
		})
	}
}

// TestConvertMergeOrder: local, then the remote config, then the
// own-telemetry layer; without accepts_remote_config the stored remote
// config is left out and the layer still applies.
func TestConvertMergeOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		accepts bool
		want    []any
	}{
		{"remote config accepted", true, []any{
			map[string]any{"periodic": map[string]any{"exporter": otlpOf("http://remote/v1/metrics")}},
			map[string]any{"periodic": map[string]any{"exporter": otlpOf("http://own/v1/metrics")}},
		}},
		{"own telemetry alone", false, []any{
			map[string]any{"periodic": map[string]any{"exporter": otlpOf("http://local/v1/metrics")}},
			map[string]any{"periodic": map[string]any{"exporter": otlpOf("http://own/v1/metrics")}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			s, err := openStore(dir)
			require.NoError(t, err)
			_, err = s.update(func(st *State) bool {
				st.Active = &Config{Hash: []byte("h"), Files: map[string]File{"": {Body: `
service:
  telemetry:
    metrics:
      readers: [{periodic: {exporter: {otlp: {protocol: http/protobuf, endpoint: "http://remote/v1/metrics"}}}}]
`}}, Own: &OwnTelemetry{Destinations: map[Signal]Destination{SignalMetrics: {Endpoint: "http://own/v1/metrics"}}}}
				return true
			})
			require.NoError(t, err)
			conf := confmap.NewFromStringMap(map[string]any{
				"extensions": map[string]any{"opamp": map[string]any{
					"capabilities": map[string]any{"accepts_remote_config": tc.accepts, "reports_own_metrics": true},
					"storage":      map[string]any{"directory": dir},
				}},
				"service": map[string]any{"extensions": []any{"opamp"}, "telemetry": map[string]any{"metrics": map[string]any{
					"readers": []any{map[string]any{"periodic": map[string]any{"exporter": otlpOf("http://local/v1/metrics")}}},
				}}},
			})
			require.NoError(t, Convert(context.Background(), conf, zap.NewNop()))
			assert.Equal(t, tc.want, conf.Get("service::telemetry::metrics::readers"))
		})
	}
}
