package health

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"
)

// TestErrorTextRepaired: a component whose error text holds invalid UTF-8
// (HTTP 500: caf\xe9 from a remote system) gets a tree that encodes, and
// one warning however often it flaps with that text.
func TestErrorTextRepaired(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	c := newCapture()
	r := New(Settings{Logger: zap.New(core), Sink: c.sink})
	id := inst(component.KindExporter, "otlp", "traces")
	for range 5 {
		r.Changed(id, componentstatus.NewRecoverableErrorEvent(errors.New("HTTP 500: caf\xe9")))
		r.Changed(id, componentstatus.NewEvent(componentstatus.StatusOK))
	}
	r.Changed(id, componentstatus.NewRecoverableErrorEvent(errors.New("HTTP 500: caf\xe9")))

	tree := r.Current()
	_, err := proto.Marshal(tree)
	require.NoError(t, err, "the tree must encode")
	leaf := tree.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap()["exporter:otlp"]
	assert.Equal(t, "HTTP 500: caf\uFFFD", leaf.GetLastError())
	require.Equal(t, 1, logs.Len(), "one warning, not one per event")
	assert.Equal(t, "health last_error of exporter:otlp", logs.All()[0].ContextMap()["field"])
}
