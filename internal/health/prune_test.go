package health

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// TestStoppedWhileRunningIsRemoved: a partial reload (service.partialReload)
// stops a renamed receiver while the Collector runs; its leaf goes, and the
// root is healthy with the new receiver. On shutdown the final Stopped
// states stay in the tree.
func TestStoppedWhileRunningIsRemoved(t *testing.T) {
	r := New(Settings{})
	old := inst(component.KindReceiver, "nop", "traces")
	renamed := inst(component.KindReceiver, "nop/renamed", "traces")
	exp := inst(component.KindExporter, "nop", "traces")
	for _, id := range []*componentstatus.InstanceID{old, exp} {
		r.Changed(id, ev(componentstatus.StatusStarting))
		r.Changed(id, ev(componentstatus.StatusOK))
	}
	assert.NoError(t, r.Ready())

	// What core's Graph.UpdateReceivers reports for the rename.
	r.Changed(old, ev(componentstatus.StatusStopping))
	r.Changed(old, ev(componentstatus.StatusStopped))
	r.Changed(renamed, ev(componentstatus.StatusStarting))
	r.Changed(renamed, ev(componentstatus.StatusOK))

	tree := r.Current()
	leaves := tree.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap()
	assert.NotContains(t, leaves, "receiver:nop")
	assert.Contains(t, leaves, "receiver:nop/renamed")
	assert.True(t, tree.GetHealthy(), "root: %s", tree.GetStatus())

	assert.NoError(t, r.NotReady())
	for _, id := range []*componentstatus.InstanceID{renamed, exp} {
		r.Changed(id, ev(componentstatus.StatusStopping))
		r.Changed(id, ev(componentstatus.StatusStopped))
	}
	leaves = r.Current().GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap()
	assert.Equal(t, componentstatus.StatusStopped.String(), leaves["receiver:nop/renamed"].GetStatus(), "shutdown keeps final states")
	assert.Equal(t, componentstatus.StatusStopped.String(), leaves["exporter:nop"].GetStatus())
}
