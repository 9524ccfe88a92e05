package components

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/service"
)

func TestHashDeterministic(t *testing.T) {
	want := Hash(sample())
	require.Len(t, want, 32)
	// Go randomizes map iteration per range loop, so repeated runs over
	// freshly built maps exercise many orders.
	for range 500 {
		require.Equal(t, want, Hash(sample()))
	}
}

func TestHashChangesOnAnyChange(t *testing.T) {
	base := hex.EncodeToString(Hash(sample()))
	tests := []struct {
		name   string
		mutate func(*service.ModuleInfos)
	}{
		{"add receiver", func(m *service.ModuleInfos) { m.Receiver[ty("nop")] = ref("x v1") }},
		{"remove receiver", func(m *service.ModuleInfos) { delete(m.Receiver, ty("otlp")) }},
		{"change version", func(m *service.ModuleInfos) {
			m.Receiver[ty("otlp")] = ref("go.opentelemetry.io/collector/receiver/otlpreceiver v0.162.1")
		}},
		{"clear builder ref", func(m *service.ModuleInfos) { m.Exporter[ty("debug")] = ref("") }},
		{"rename type", func(m *service.ModuleInfos) {
			m.Processor[ty("batch2")] = m.Processor[ty("batch")]
			delete(m.Processor, ty("batch"))
		}},
		{"move between kinds", func(m *service.ModuleInfos) {
			m.Processor[ty("forward")] = m.Connector[ty("forward")]
			delete(m.Connector, ty("forward"))
		}},
		{"swap refs", func(m *service.ModuleInfos) {
			a, b := m.Receiver[ty("otlp")], m.Receiver[ty("filelog")]
			m.Receiver[ty("otlp")], m.Receiver[ty("filelog")] = b, a
		}},
		{"separator inside ref", func(m *service.ModuleInfos) {
			m.Receiver = map[component.Type]service.ModuleInfo{
				ty("filelog"): ref("github.com/example/filelogreceiver v1.2.3;otlp=go.opentelemetry.io/collector/receiver/otlpreceiver v0.162.0"),
			}
		}},
		{"add extension", func(m *service.ModuleInfos) { m.Extension[ty("health")] = ref("h v1") }},
		{"drop connectors", func(m *service.ModuleInfos) { m.Connector = nil }},
	}
	seen := map[string]string{base: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sample()
			tt.mutate(&in)
			got := hex.EncodeToString(Hash(in))
			prev, dup := seen[got]
			assert.False(t, dup, "hash equals that of %q", prev)
			seen[got] = tt.name
		})
	}
}

func BenchmarkHash(b *testing.B) {
	in := service.ModuleInfos{
		Receiver: map[component.Type]service.ModuleInfo{}, Processor: map[component.Type]service.ModuleInfo{},
		Exporter: map[component.Type]service.ModuleInfo{}, Extension: map[component.Type]service.ModuleInfo{},
		Connector: map[component.Type]service.ModuleInfo{},
	}
	// Roughly the size of a contrib distribution.
	for i := range 60 {
		name := "comp" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		r := ref("github.com/open-telemetry/opentelemetry-collector-contrib/x/" + name + " v0.158.0")
		in.Receiver[ty(name)], in.Processor[ty(name)], in.Exporter[ty(name)] = r, r, r
		in.Extension[ty(name)], in.Connector[ty(name)] = r, r
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Hash(in)
	}
}
