// Package sampleconfig is the Collector configuration the benchmarks run:
// one OTLP receiver → batch → debug pipeline, self-metrics off so that
// several Collectors can run side by side (no port 8888 to contend for).
// Every figure of BENCHMARKS.md that runs a distro should start from it,
// so that they measure the same Collector.
package sampleconfig

import "fmt"

// Pipeline is the id of its one pipeline, as the health tree of our
// extension names it.
const Pipeline = "pipeline:traces"

// YAML is the configuration with the OTLP gRPC receiver on 127.0.0.1:port,
// without any opamp extension.
func YAML(port int) string {
	return fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  batch:
exporters:
  debug:
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
`, port)
}
