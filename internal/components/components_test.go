package components

import (
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/service"
	"google.golang.org/protobuf/proto"
)

func ty(s string) component.Type { return component.MustNewType(s) }

func ref(r string) service.ModuleInfo { return service.ModuleInfo{BuilderRef: r} }

// sample returns a fresh, fully populated input on every call so tests can
// mutate it freely.
func sample() service.ModuleInfos {
	return service.ModuleInfos{
		Receiver: map[component.Type]service.ModuleInfo{
			ty("otlp"):    ref("go.opentelemetry.io/collector/receiver/otlpreceiver v0.162.0"),
			ty("filelog"): ref("github.com/example/filelogreceiver v1.2.3"),
		},
		Processor: map[component.Type]service.ModuleInfo{ty("batch"): ref("go.opentelemetry.io/collector/processor/batchprocessor v0.164.0")},
		Exporter:  map[component.Type]service.ModuleInfo{ty("debug"): ref("go.opentelemetry.io/collector/exporter/debugexporter v0.164.0")},
		Extension: map[component.Type]service.ModuleInfo{ty("opamp"): ref("github.com/opampext/opampextension v0.0.0")},
		Connector: map[component.Type]service.ModuleInfo{ty("forward"): ref("go.opentelemetry.io/collector/connector/forwardconnector v0.164.0")},
	}
}

func moduleOf(t *testing.T, d *protobufs.ComponentDetails) string {
	t.Helper()
	require.Len(t, d.GetMetadata(), 1)
	assert.Equal(t, ModuleKey, d.GetMetadata()[0].GetKey())
	return d.GetMetadata()[0].GetValue().GetStringValue()
}

func TestBuildAllKinds(t *testing.T) {
	in := sample()
	got := Build(in)

	wantKinds := map[string]map[component.Type]service.ModuleInfo{
		KindReceivers: in.Receiver, KindProcessors: in.Processor, KindExporters: in.Exporter,
		KindExtensions: in.Extension, KindConnectors: in.Connector,
	}
	require.Len(t, got.GetComponents(), len(wantKinds))
	for name, modules := range wantKinds {
		t.Run(name, func(t *testing.T) {
			kind := got.GetComponents()[name]
			require.NotNil(t, kind, "kind %s missing", name)
			assert.Empty(t, kind.GetMetadata())
			require.Len(t, kind.GetSubComponentMap(), len(modules))
			for typ, info := range modules {
				d := kind.GetSubComponentMap()[typ.String()]
				require.NotNil(t, d, "%s/%s missing", name, typ)
				assert.Equal(t, info.BuilderRef, moduleOf(t, d))
				assert.Empty(t, d.GetSubComponentMap())
			}
		})
	}
	assert.Equal(t, Hash(in), got.GetHash())
}

func TestBuildEmpty(t *testing.T) {
	for name, in := range map[string]service.ModuleInfos{
		"nil maps": {},
		"empty maps": {
			Receiver: map[component.Type]service.ModuleInfo{}, Processor: map[component.Type]service.ModuleInfo{},
			Exporter: map[component.Type]service.ModuleInfo{}, Extension: map[component.Type]service.ModuleInfo{},
			Connector: map[component.Type]service.ModuleInfo{},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := Build(in)
			for _, k := range []string{KindReceivers, KindProcessors, KindExporters, KindExtensions, KindConnectors} {
				require.Contains(t, got.GetComponents(), k)
				assert.Empty(t, got.GetComponents()[k].GetSubComponentMap())
			}
			assert.Len(t, got.GetHash(), 32)
			assert.Equal(t, Hash(service.ModuleInfos{}), got.GetHash(), "nil and empty maps describe the same thing")
		})
	}
}

func TestBuildEmptyBuilderRefHasNoMetadata(t *testing.T) {
	got := Build(service.ModuleInfos{Receiver: map[component.Type]service.ModuleInfo{ty("nop"): {}}})
	d := got.GetComponents()[KindReceivers].GetSubComponentMap()["nop"]
	require.NotNil(t, d)
	assert.Empty(t, d.GetMetadata())
}

func TestBuildDeterministic(t *testing.T) {
	first := build(sample(), Hash(sample()))
	firstWire, err := proto.MarshalOptions{Deterministic: true}.Marshal(first)
	require.NoError(t, err)
	for range 200 {
		again := build(sample(), Hash(sample()))
		require.True(t, proto.Equal(first, again))
		wire, err := proto.MarshalOptions{Deterministic: true}.Marshal(again)
		require.NoError(t, err)
		require.Equal(t, firstWire, wire)
	}
}

// TestBuildShares: equal modules give the one shared message; other
// modules a new one, equal to a fresh build.
func TestBuildShares(t *testing.T) {
	a := Build(sample())
	assert.Same(t, a, Build(sample()))
	other := service.ModuleInfos{Receiver: map[component.Type]service.ModuleInfo{ty("nop"): {BuilderRef: "x v1"}}}
	b := Build(other)
	assert.NotSame(t, a, b)
	assert.True(t, proto.Equal(build(other, Hash(other)), b))
	assert.True(t, proto.Equal(build(sample(), Hash(sample())), Build(sample())))
}

type moduleHost struct {
	component.Host
	mi service.ModuleInfos
}

func (h moduleHost) GetModuleInfos() service.ModuleInfos { return h.mi }

func TestFromHost(t *testing.T) {
	mi, ok := FromHost(componenttest.NewNopHost())
	assert.False(t, ok)
	assert.Equal(t, service.ModuleInfos{}, mi)

	want := sample()
	mi, ok = FromHost(moduleHost{Host: componenttest.NewNopHost(), mi: want})
	assert.True(t, ok)
	assert.Equal(t, want, mi)
}
