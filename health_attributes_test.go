package opampextension

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver"

	"github.com/opampext/opampextension/internal/health"
	"github.com/opampext/opampextension/internal/testserver"
)

// attrsReceiver reports, once started, a recoverable error whose event
// carries attributes, as a receiver with something to say about its state
// does.
type attrsReceiver struct{}

var attrsType = component.MustNewType("attrs")

func newAttrsFactory() receiver.Factory {
	return receiver.NewFactory(attrsType,
		func() component.Config { return &struct{}{} },
		receiver.WithTraces(func(context.Context, receiver.Settings, component.Config, consumer.Traces) (receiver.Traces, error) {
			return attrsReceiver{}, nil
		}, component.StabilityLevelDevelopment))
}

func (attrsReceiver) Start(_ context.Context, host component.Host) error {
	m := pcommon.NewMap()
	m.PutStr("endpoint", "upstream:4317")
	m.PutInt("retries", 3)
	componentstatus.ReportStatus(host, componentstatus.NewEvent(componentstatus.StatusRecoverableError,
		componentstatus.WithError(fmt.Errorf("upstream unavailable")), componentstatus.WithAttributes(m)))
	return nil
}

func (attrsReceiver) Shutdown(context.Context) error { return nil }

// TestHealthAttributesReachServer: a real Collector's status event
// attributes arrive at a real OpAMP server as ComponentHealth.attributes
// of the component's leaf.
func TestHealthAttributesReachServer(t *testing.T) {
	srv := testserver.Start(t)
	uid := "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7e"
	yaml := collectorYAML{receiver: "attrs", opamp: fmt.Sprintf(`    server:
      ws:
        endpoint: %s
    instance_uid: %s`, srv.WSURL(), uid)}.String()
	runCollector(t, yaml, withReceivers(newAttrsFactory()))

	leafOf := func(a *testserver.AgentState) bool {
		return a.UID == uid && a.Health.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap()["receiver:attrs"].GetStatus() == "StatusRecoverableError"
	}
	st := srv.WaitAgent(t, waitTime, leafOf)
	leaf := st.Health.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap()["receiver:attrs"]
	assert.Equal(t, "upstream unavailable", leaf.GetLastError())
	attrs, err := health.Attributes(leaf)
	require.NoError(t, err)
	require.Len(t, attrs, 2)
	assert.Equal(t, "endpoint", attrs[0].GetKey())
	assert.Equal(t, "upstream:4317", attrs[0].GetValue().GetStringValue())
	assert.Equal(t, "retries", attrs[1].GetKey())
	assert.EqualValues(t, 3, attrs[1].GetValue().GetIntValue())
}
