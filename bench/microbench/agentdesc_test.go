package microbench

import (
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/agentdesc"
)

// descInput is what the extension passes at Start for a typical Collector:
// a resource with a few attributes, user attributes, resource attributes
// included.
func descInput() agentdesc.Input {
	res := pcommon.NewMap()
	res.PutStr("service.name", "otelcol-opamp")
	res.PutStr("service.version", "0.0.1-dev")
	res.PutStr("deployment.environment.name", "production")
	res.PutStr("k8s.pod.name", "otelcol-7d9f8b6c5-x2x9z")
	res.PutInt("replica", 3)
	return agentdesc.Input{
		InstanceUID:               uuid.MustParse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
		Resource:                  res,
		BuildInfo:                 component.BuildInfo{Command: "otelcol-opamp", Version: "0.0.1-dev"},
		NonIdentifying:            map[string]string{"team": "observability", "region": "eu-west-1"},
		IncludeResourceAttributes: true,
		Host:                      agentdesc.DefaultHost(),
	}
}

// BenchmarkAgentDescriptionBuild is the description built at every Start
// (and on every new instance uid), with its encoded size.
func BenchmarkAgentDescriptionBuild(b *testing.B) {
	in := descInput()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		size = proto.Size(agentdesc.Build(in))
	}
	b.ReportMetric(float64(size), "bytes/msg")
}

func TestDescriptionBuildIsDeterministic(t *testing.T) {
	a, err := proto.MarshalOptions{Deterministic: true}.Marshal(agentdesc.Build(descInput()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(agentdesc.Build(descInput()))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) || len(a) == 0 {
		t.Fatalf("two builds of the same input differ (%d and %d bytes)", len(a), len(b))
	}
}
