package health

import (
	"errors"
	"fmt"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// BenchmarkStatusEventToMessage measures one status change travelling from
// Changed to the Sink, in a Collector of 20 components.
func BenchmarkStatusEventToMessage(b *testing.B) {
	sent := make(chan struct{}, 1)
	r := New(Settings{Sink: func(*protobufs.ComponentHealth) error {
		sent <- struct{}{}
		return nil
	}})
	for i := range 19 {
		r.Changed(inst(component.KindExporter, fmt.Sprintf("otlp/%d", i), "traces", "metrics"),
			componentstatus.NewEvent(componentstatus.StatusOK))
	}
	if err := r.Ready(); err != nil {
		b.Fatal(err)
	}
	r.Start()
	<-sent
	id := inst(component.KindReceiver, "otlp", "traces", "metrics")
	events := []*componentstatus.Event{
		componentstatus.NewEvent(componentstatus.StatusOK),
		componentstatus.NewRecoverableErrorEvent(errors.New("retry later")),
	}

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Changed(id, events[i%2])
		<-sent
	}
	b.StopTimer()
	if err := r.Shutdown(b.Context()); err != nil {
		b.Fatal(err)
	}
}
