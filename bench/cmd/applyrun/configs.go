package main

import (
	"crypto/sha256"
	"fmt"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"

	"github.com/opampext/opampextension/bench/sampleconfig"
)

// ports are the two OTLP receivers' gRPC ports: the local pipeline's and
// the one the remote config adds.
type ports struct{ local, added int }

// Pipeline ids as the health tree names them.
const (
	localPipeline = sampleconfig.Pipeline
	addedPipeline = "pipeline:traces/2"
)

// localYAML is the Collector config every mode starts from, without the
// opamp extension: the benchmarks' sample config.
func localYAML(p ports) string { return sampleconfig.YAML(p.local) }

// changeYAML is the change under test, the body of the remote config: a
// second pipeline with a receiver and an exporter of its own. Merged over
// localYAML by our extension, the Supervisor and mergedYAML alike.
func changeYAML(p ports) string {
	return fmt.Sprintf(`receivers:
  otlp/2:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
exporters:
  debug/2:
service:
  pipelines:
    traces/2:
      receivers: [otlp/2]
      processors: [batch]
      exporters: [debug/2]
`, p.added)
}

// opampYAML is our extension pointed at the server; with state, it accepts
// remote config and keeps its state there.
func opampYAML(endpoint, state string) string {
	s := fmt.Sprintf(`extensions:
  opamp:
    server:
      ws:
        endpoint: %s
        tls:
          insecure: true
`, endpoint)
	if state != "" {
		s += fmt.Sprintf(`    capabilities:
      accepts_remote_config: true
    storage:
      directory: %s
`, state)
	}
	return s + "service:\n  extensions: [opamp]\n"
}

// supervisorYAML is the Supervisor's config: remote config on, the local
// config as its agent's config file, own telemetry off (the server offers
// none).
func supervisorYAML(endpoint, state, collector, local string) string {
	return fmt.Sprintf(`server:
  endpoint: %s
capabilities:
  accepts_remote_config: true
  reports_remote_config: true
  reports_effective_config: true
  reports_health: true
  reports_own_metrics: false
storage:
  directory: %s
agent:
  executable: %s
  config_files:
    - %s
`, endpoint, state, collector, local)
}

// merge lays each YAML document over the ones before it with confmap's
// merge (maps key by key, lists replaced), as the remote config is merged
// over the local one.
func merge(docs ...string) (string, error) {
	conf := confmap.New()
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			return "", fmt.Errorf("merge: %w", err)
		}
		if err := conf.Merge(confmap.NewFromStringMap(m)); err != nil {
			return "", fmt.Errorf("merge: %w", err)
		}
	}
	b, err := yaml.Marshal(conf.ToStringMap())
	if err != nil {
		return "", fmt.Errorf("merge: %w", err)
	}
	return string(b), nil
}

// remoteConfig is the change as the server sends it: config map key "",
// text/yaml, hashed with SHA-256.
func remoteConfig(body string) *protobufs.AgentRemoteConfig {
	h := sha256.Sum256([]byte(body))
	return &protobufs.AgentRemoteConfig{
		ConfigHash: h[:],
		Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
			"": {Body: []byte(body), ContentType: "text/yaml"},
		}},
	}
}
