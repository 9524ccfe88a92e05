package agentdesc

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/protobuf/proto"
)

var (
	testUID   = uuid.MustParse("0190e4f8-6f1e-7c3a-9d2b-5a4e3c2b1a09")
	testBuild = component.BuildInfo{Command: "otelcol-custom", Version: "1.2.3"}
	testHost  = HostInfo{Name: "box", Arch: "amd64", OSType: "linux", OSDescription: "Linux 6.1"}
)

func resource(kv map[string]any) pcommon.Map {
	m := pcommon.NewMap()
	if err := m.FromRaw(kv); err != nil {
		panic(err)
	}
	return m
}

// asMap flattens a KeyValue list, failing on duplicate keys.
func asMap(t *testing.T, kvs []*protobufs.KeyValue) map[string]*protobufs.AnyValue {
	t.Helper()
	m := make(map[string]*protobufs.AnyValue, len(kvs))
	for _, kv := range kvs {
		_, dup := m[kv.GetKey()]
		require.False(t, dup, "duplicate key %q", kv.GetKey())
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}

func strs(t *testing.T, kvs []*protobufs.KeyValue) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range asMap(t, kvs) {
		out[k] = v.GetStringValue()
	}
	return out
}

func TestBuildIdentifying(t *testing.T) {
	tests := []struct {
		name     string
		resource pcommon.Map
		build    component.BuildInfo
		want     map[string]string
	}{
		{
			name:     "resource wins over build info",
			resource: resource(map[string]any{"service.name": "gateway", "service.version": "9.9"}),
			build:    testBuild,
			want:     map[string]string{KeyServiceInstanceID: testUID.String(), KeyServiceName: "gateway", KeyServiceVersion: "9.9"},
		},
		{
			name:     "build info when resource lacks them",
			resource: resource(map[string]any{"deployment.environment": "prod"}),
			build:    testBuild,
			want:     map[string]string{KeyServiceInstanceID: testUID.String(), KeyServiceName: "otelcol-custom", KeyServiceVersion: "1.2.3"},
		},
		{
			name:     "empty resource values fall back",
			resource: resource(map[string]any{"service.name": "", "service.version": ""}),
			build:    testBuild,
			want:     map[string]string{KeyServiceInstanceID: testUID.String(), KeyServiceName: "otelcol-custom", KeyServiceVersion: "1.2.3"},
		},
		{
			name:     "non-string resource version in string form",
			resource: resource(map[string]any{"service.version": int64(7)}),
			build:    testBuild,
			want:     map[string]string{KeyServiceInstanceID: testUID.String(), KeyServiceName: "otelcol-custom", KeyServiceVersion: "7"},
		},
		{
			name: "zero resource map and no build info",
			want: map[string]string{KeyServiceInstanceID: testUID.String()},
		},
		{
			name:     "resource instance id is ignored for the uid",
			resource: resource(map[string]any{"service.instance.id": "something-else"}),
			build:    testBuild,
			want:     map[string]string{KeyServiceInstanceID: testUID.String(), KeyServiceName: "otelcol-custom", KeyServiceVersion: "1.2.3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Build(Input{InstanceUID: testUID, Resource: tt.resource, BuildInfo: tt.build, Host: testHost})
			assert.Equal(t, tt.want, strs(t, got.GetIdentifyingAttributes()))
			assertSorted(t, got.GetIdentifyingAttributes())
		})
	}
}

func TestBuildNonIdentifying(t *testing.T) {
	res := resource(map[string]any{
		"service.name": "gateway", "service.instance.id": "x", "service.version": "1",
		"host.name": "from-resource", "team": "from-resource", "region": "eu",
	})
	tests := []struct {
		name       string
		configured map[string]string
		include    bool
		host       HostInfo
		want       map[string]string
	}{
		{
			name: "host only",
			host: testHost,
			want: map[string]string{KeyHostName: "box", KeyHostArch: "amd64", KeyOSType: "linux", KeyOSDescription: "Linux 6.1"},
		},
		{
			name:       "configured overrides host",
			configured: map[string]string{KeyHostName: "override", "team": "obs"},
			host:       testHost,
			want:       map[string]string{KeyHostName: "override", KeyHostArch: "amd64", KeyOSType: "linux", KeyOSDescription: "Linux 6.1", "team": "obs"},
		},
		{
			name:       "resource fills only missing keys",
			configured: map[string]string{"team": "obs"},
			include:    true,
			host:       testHost,
			want: map[string]string{
				KeyHostName: "box", KeyHostArch: "amd64", KeyOSType: "linux", KeyOSDescription: "Linux 6.1",
				"team": "obs", "region": "eu",
			},
		},
		{
			name:       "identifying keys never repeated",
			configured: map[string]string{KeyServiceName: "nope", KeyServiceInstanceID: "nope"},
			include:    true,
			want:       map[string]string{KeyHostName: "from-resource", "team": "from-resource", "region": "eu"},
		},
		{
			name: "empty host fields omitted",
			host: HostInfo{Arch: "arm64"},
			want: map[string]string{KeyHostArch: "arm64"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Build(Input{
				InstanceUID: testUID, Resource: res, BuildInfo: testBuild,
				NonIdentifying: tt.configured, IncludeResourceAttributes: tt.include, Host: tt.host,
			})
			assert.Equal(t, tt.want, strs(t, got.GetNonIdentifyingAttributes()))
			assertSorted(t, got.GetNonIdentifyingAttributes())
		})
	}
}

func TestBuildResourceValueTypes(t *testing.T) {
	res := pcommon.NewMap()
	res.PutStr("s", "text")
	res.PutInt("i", -42)
	res.PutDouble("d", 2.5)
	res.PutBool("b", true)
	res.PutEmptyBytes("raw").FromRaw([]byte{0, 1, 0xff})
	res.PutEmptySlice("list").AppendEmpty().SetStr("a")
	res.PutEmptyMap("obj").PutInt("k", 1)
	res.PutEmpty("nothing")

	got := asMap(t, Build(Input{InstanceUID: testUID, Resource: res, IncludeResourceAttributes: true}).GetNonIdentifyingAttributes())
	want := map[string]*protobufs.AnyValue{
		"s":       {Value: &protobufs.AnyValue_StringValue{StringValue: "text"}},
		"i":       {Value: &protobufs.AnyValue_IntValue{IntValue: -42}},
		"d":       {Value: &protobufs.AnyValue_DoubleValue{DoubleValue: 2.5}},
		"b":       {Value: &protobufs.AnyValue_BoolValue{BoolValue: true}},
		"raw":     {Value: &protobufs.AnyValue_BytesValue{BytesValue: []byte{0, 1, 0xff}}},
		"list":    {Value: &protobufs.AnyValue_StringValue{StringValue: `["a"]`}},
		"obj":     {Value: &protobufs.AnyValue_StringValue{StringValue: `{"k":1}`}},
		"nothing": {Value: &protobufs.AnyValue_StringValue{StringValue: ""}},
	}
	require.Len(t, got, len(want))
	for k, w := range want {
		assert.True(t, proto.Equal(w, got[k]), "%s: want %v, got %v", k, w, got[k])
	}
}

func TestBuildDeterministic(t *testing.T) {
	in := func() Input {
		attrs := map[string]any{}
		configured := map[string]string{}
		for _, c := range "zyxwvutsrqponmlkjihgfedcba" {
			attrs["res."+string(c)] = string(c)
			configured["cfg."+string(c)] = string(c)
		}
		return Input{
			InstanceUID: testUID, Resource: resource(attrs), BuildInfo: testBuild,
			NonIdentifying: configured, IncludeResourceAttributes: true, Host: testHost,
		}
	}
	first := Build(in())
	assert.Len(t, first.GetNonIdentifyingAttributes(), 4+26+26)
	assertSorted(t, first.GetNonIdentifyingAttributes())
	for range 100 {
		require.True(t, proto.Equal(first, Build(in())))
	}
}

func TestWithInstanceUID(t *testing.T) {
	newUID := uuid.MustParse("3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e")
	orig := Build(Input{InstanceUID: testUID, BuildInfo: testBuild, Host: testHost})
	before := proto.Clone(orig)

	got := WithInstanceUID(orig, newUID)
	assert.Equal(t, newUID.String(), strs(t, got.GetIdentifyingAttributes())[KeyServiceInstanceID])
	assert.True(t, proto.Equal(before, orig), "input modified")
	assert.True(t, proto.Equal(orig.GetNonIdentifyingAttributes()[0], got.GetNonIdentifyingAttributes()[0]))
	assert.Len(t, got.GetIdentifyingAttributes(), len(orig.GetIdentifyingAttributes()))

	missing := &protobufs.AgentDescription{IdentifyingAttributes: []*protobufs.KeyValue{stringKV(KeyServiceVersion, "1"), stringKV(KeyServiceName, "c")}}
	got = WithInstanceUID(missing, newUID)
	assert.Equal(t, map[string]string{KeyServiceInstanceID: newUID.String(), KeyServiceName: "c", KeyServiceVersion: "1"},
		strs(t, got.GetIdentifyingAttributes()))
	assertSorted(t, got.GetIdentifyingAttributes())
	assert.Len(t, missing.GetIdentifyingAttributes(), 2, "input modified")

	assert.Nil(t, WithInstanceUID(nil, newUID))
}

func assertSorted(t *testing.T, kvs []*protobufs.KeyValue) {
	t.Helper()
	assert.True(t, slices.IsSortedFunc(kvs, func(a, b *protobufs.KeyValue) int {
		return strings.Compare(a.GetKey(), b.GetKey())
	}), "not sorted: %v", kvs)
}
