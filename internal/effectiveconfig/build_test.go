package effectiveconfig

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const envToken = "envtok-9f2c41d7e0"

// loadSecrets resolves testdata/secrets.yaml the way the Collector does and
// returns the effective (expanded) and unexpanded views.
func loadSecrets(t *testing.T) (effective, unexpanded *confmap.Conf) {
	t.Helper()
	t.Setenv("OPAMP_TEST_API_TOKEN", envToken)
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:testdata/secrets.yaml"},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, resolver.Shutdown(context.Background())) })
	effective, err = resolver.Resolve(context.Background())
	require.NoError(t, err)
	// The secret really reached the effective config: redaction is tested.
	require.Equal(t, envToken, effective.Get("extensions::bearertokenauth::token"))
	return effective, resolver.UnexpandedConf()
}

// secretValues must not appear anywhere in a reported config.
var secretValues = []string{
	"s3cr3t",
	envToken,
	"czNjcjN0LWJhc2ljLWhlYWRlcg==",       // base64 of a Basic credential
	"metrics-user", "rw-user", "pg-user", // userinfo user names
	"s3cr3t-token-only",
}

// keptValues are useful, non-secret configuration that must survive.
var keptValues = []string{
	"wss://opamp.example.com:4320/v1/opamp",
	"X-Scope-OrgID: tenant-a",
	"/etc/otel/ca.pem", "/etc/otel/client.crt", "/etc/otel/client.key", "key_file:",
	"https://auth.example.com/oauth2/token",
	"client_id: collector-client",
	"0.0.0.0:4317", "0.0.0.0:4318", "localhost:1777",
	"timeout: 200ms", "send_batch_size: 8192", "collection_interval: 30s",
	"host=db.internal port=5432 user=otel password=[REDACTED] sslmode=disable",
	"http://node2.example.com:9100/metrics",
	"https://[REDACTED]@node1.example.com:9100",
	"https://[REDACTED]@prom.example.com/api/v1/write",
	"https://[REDACTED]@logs.example.com/loki/api/v1/push",
	"https://[REDACTED]@es1.example.com:9200", "https://es2.example.com:9200",
	"https://hooks.example.com/notify?channel=ops&token=[REDACTED]&sig=[REDACTED]",
	"postgres://[REDACTED]@pg.example.com:5432/metrics?sslmode=disable",
	"User-Agent: otelcol-custom", "value: tenant-b", "name: Authorization",
	"username: kafka-user", "mechanism: SCRAM-SHA-512", "datasource: '[REDACTED]'",
	"traces/vendor:", "metrics/federated:", "logs/main:",
	"authorization: '[REDACTED]'",
	`"service":"checkout"`, `"port":8443`, `\"region\":\"eu\"`, `"region":"eu-north"`,
	"''scope'': ''telemetry''", "X-Tenant=tenant-c", `user = "otel"`, `region = "eu"`,
}

func TestBuildRedactsSecrets(t *testing.T) {
	effective, unexpanded := loadSecrets(t)
	msg, err := Build(effective, unexpanded, true)
	require.NoError(t, err)

	files := msg.GetConfigMap().GetConfigMap()
	require.Len(t, files, 2)
	for _, key := range []string{EffectiveConfigKey, UnexpandedConfigKey} {
		t.Run(fmt.Sprintf("key=%q", key), func(t *testing.T) {
			file := files[key]
			require.NotNil(t, file)
			assert.Equal(t, ContentTypeYAML, file.GetContentType())
			body := string(file.GetBody())
			var leaked, lost []string
			for _, s := range secretValues {
				if strings.Contains(body, s) {
					leaked = append(leaked, s)
				}
			}
			for _, s := range keptValues {
				if !strings.Contains(body, s) {
					lost = append(lost, s)
				}
			}
			assert.Empty(t, leaked, "secrets in the report:\n%s", body)
			assert.Empty(t, lost, "useful values redacted:\n%s", body)
			var parsed map[string]any
			require.NoError(t, yaml.Unmarshal(file.GetBody(), &parsed), "body is valid YAML")
			assert.Contains(t, parsed, "service")
		})
	}
	// The unexpanded view shows where the secret comes from.
	assert.Contains(t, string(files[UnexpandedConfigKey].GetBody()), "token: ${env:OPAMP_TEST_API_TOKEN}")
	assert.NotContains(t, string(files[EffectiveConfigKey].GetBody()), "${env:")
}

func TestBuild(t *testing.T) {
	conf := confmap.NewFromStringMap(map[string]any{"a": map[string]any{"password": "p"}})
	tests := []struct {
		name       string
		effective  *confmap.Conf
		unexpanded *confmap.Conf
		include    bool
		wantKeys   []string
		wantErr    string
	}{
		{name: "effective only", effective: conf, unexpanded: conf, wantKeys: []string{EffectiveConfigKey}},
		{name: "nil unexpanded not needed", effective: conf, wantKeys: []string{EffectiveConfigKey}},
		{name: "both", effective: conf, unexpanded: conf, include: true, wantKeys: []string{EffectiveConfigKey, UnexpandedConfigKey}},
		{name: "empty", effective: confmap.New(), wantKeys: []string{EffectiveConfigKey}},
		{name: "nil effective", unexpanded: conf, wantErr: "effective configuration is nil"},
		{name: "nil unexpanded requested", effective: conf, include: true, wantErr: "unexpanded configuration is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Build(tt.effective, tt.unexpanded, tt.include)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Nil(t, msg)
				return
			}
			require.NoError(t, err)
			files := msg.GetConfigMap().GetConfigMap()
			assert.Len(t, files, len(tt.wantKeys))
			for _, k := range tt.wantKeys {
				require.Contains(t, files, k)
				assert.NotContains(t, string(files[k].GetBody()), ": p\n")
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	got, err := Marshal(map[string]any{
		"b": map[string]any{"z": 1, "a": []any{"x", 2}},
		"a": map[string]any{"token": "t", "endpoint": "https://u:p@h"},
	})
	require.NoError(t, err)
	want := "a:\n  endpoint: https://[REDACTED]@h\n  token: '[REDACTED]'\nb:\n  a:\n    - x\n    - 2\n  z: 1\n"
	assert.Equal(t, want, string(got))

	empty, err := Marshal(nil)
	require.NoError(t, err)
	assert.Equal(t, "{}\n", string(empty))
}

func TestMarshalDeterministic(t *testing.T) {
	effective, _ := loadSecrets(t)
	first, err := Marshal(effective.ToStringMap())
	require.NoError(t, err)
	for range 20 {
		// A fresh map each time: Go randomises map iteration per map.
		again, err := Marshal(effective.ToStringMap())
		require.NoError(t, err)
		require.Equal(t, string(first), string(again))
	}
	assert.True(t, strings.Index(string(first), "exporters:") < strings.Index(string(first), "extensions:"))
}

// BenchmarkBuildLarge builds the report of 600 components with the raw
// configuration included. Besides B/op it reports yaml_bytes, the size of
// the two YAML bodies, and B/yaml_B, the bytes allocated per byte of them:
// issue 12's goal is at most 4.
func BenchmarkBuildLarge(b *testing.B) {
	conf := confmap.NewFromStringMap(largeConfig(200))
	ec, err := Build(conf, conf, true)
	require.NoError(b, err)
	yamlLen := 0
	for _, f := range ec.GetConfigMap().GetConfigMap() {
		yamlLen += len(f.GetBody())
	}
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	for b.Loop() {
		if _, err := Build(conf, conf, true); err != nil {
			b.Fatal(err)
		}
		n++
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(yamlLen), "yaml_bytes")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n*yamlLen), "B/yaml_B")
}

// largeConfig builds a configuration with n components of each kind spread
// over receivers, processors and exporters, with secrets and URLs in each.
func largeConfig(n int) map[string]any {
	receivers, processors, exporters := map[string]any{}, map[string]any{}, map[string]any{}
	var names []any
	for i := range n {
		receivers[fmt.Sprintf("otlp/%d", i)] = map[string]any{
			"protocols": map[string]any{"grpc": map[string]any{"endpoint": fmt.Sprintf("0.0.0.0:%d", 4000+i)}},
		}
		processors[fmt.Sprintf("batch/%d", i)] = map[string]any{"timeout": "1s", "send_batch_size": 8192}
		name := fmt.Sprintf("otlphttp/%d", i)
		names = append(names, name)
		exporters[name] = map[string]any{
			"endpoint":         fmt.Sprintf("https://user:pass%d@ingest%d.example.com/v1?api_key=k%d", i, i, i),
			"headers":          map[string]any{"Authorization": fmt.Sprintf("Bearer t%d", i), "X-Tenant": "t"},
			"tls":              map[string]any{"ca_file": "/etc/ca.pem", "insecure": false},
			"retry_on_failure": map[string]any{"enabled": true, "initial_interval": "5s"},
		}
	}
	return map[string]any{
		"receivers":  receivers,
		"processors": processors,
		"exporters":  exporters,
		"service": map[string]any{"pipelines": map[string]any{
			"traces": map[string]any{"receivers": []any{"otlp/0"}, "exporters": names},
		}},
	}
}
