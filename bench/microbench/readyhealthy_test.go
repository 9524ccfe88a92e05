package microbench

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/opampext/opampextension"
	"github.com/opampext/opampextension/bench/recorder"
)

// startExtension is what core's service does with the extension up to the
// pipelines' start: create, Start, the first config snapshot, the pipeline
// components' Starting and OK.
type startedExtension interface {
	extension.Extension
	extensioncapabilities.PipelineWatcher
	extensioncapabilities.ConfigSnapshotWatcher
	extensioncapabilities.ComponentStatusWatcher
}

type nopHost struct{}

func (nopHost) GetExtensions() map[component.ID]component.Component { return nil }

func startExtension(b *testing.B, endpoint string, uid uuid.UUID) startedExtension {
	b.Helper()
	ctx := context.Background()
	factory := opampextension.NewFactory()
	cfg := factory.CreateDefaultConfig().(*opampextension.Config)
	cfg.Server.WS.Endpoint = endpoint
	cfg.Server.WS.TLS.Insecure = true
	cfg.InstanceUID = uid.String()
	ext, err := factory.Create(ctx, extensiontest.NewNopSettings(factory.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	a := ext.(startedExtension)
	if err := a.Start(ctx, nopHost{}); err != nil {
		b.Fatal(err)
	}
	conf := confmap.NewFromStringMap(map[string]any{
		"receivers": map[string]any{"otlp": nil}, "exporters": map[string]any{"debug": nil},
		"extensions": map[string]any{"opamp": map[string]any{"server": map[string]any{"ws": map[string]any{"endpoint": endpoint}}}},
	})
	if err := a.NotifyConfigSnapshot(ctx, extensioncapabilities.NewConfigSnapshot(conf, conf)); err != nil {
		b.Fatal(err)
	}
	traces := pipeline.NewID(pipeline.SignalTraces)
	for _, st := range []componentstatus.Status{componentstatus.StatusStarting, componentstatus.StatusOK} {
		for _, id := range []*componentstatus.InstanceID{
			componentstatus.NewInstanceID(component.MustNewID("otlp"), component.KindReceiver, traces),
			componentstatus.NewInstanceID(component.MustNewID("debug"), component.KindExporter, traces),
		} {
			a.Changed(id, componentstatus.NewEvent(st))
		}
	}
	return a
}

// BenchmarkReadyToHealthyAtServer is the time from the pipelines' Ready to
// the healthy health decoded by a real OpAMP server over a local
// WebSocket: the extension's share of a Collector's exec → healthy. Each
// iteration starts one extension and waits until everything it sent
// before Ready arrived; the metric is the median over iterations.
func BenchmarkReadyToHealthyAtServer(b *testing.B) {
	rec, err := recorder.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rec.Stop(context.Background()) })
	logSink, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = logSink.Close() })
	arrived := rec.Subscribe()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		uid := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i), byte(i >> 8), byte(i >> 16)})
		a := startExtension(b, rec.Endpoint(), uid)
		// Let the start-up traffic settle, as a Collector's pipelines
		// take a while to start.
		waitQuiet(arrived, 5*time.Millisecond)
		_ = a.Ready()
		// What core does next, and what a Collector's start-up is
		// measured from: it logs "Everything is ready".
		_, _ = logSink.Write(readyLine)
		t0 := time.Now()
		timeout := time.After(5 * time.Second)
	wait:
		for {
			select {
			case m := <-arrived:
				if m.Kinds&recorder.KindHealthy != 0 {
					lat = append(lat, time.Duration(m.At-t0.UnixNano()))
					break wait
				}
			case <-timeout:
				b.Fatal("no healthy health after Ready")
			}
		}
		_ = a.NotReady()
		_ = a.Shutdown(context.Background())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Microsecond), "µs-median")
	b.ReportMetric(float64(lat[len(lat)*9/10])/float64(time.Microsecond), "µs-p90")
}

var readyLine = []byte("2026-12-01T17:00:00.000Z\tinfo\tservice@v0.165.0/service.go:256\tEverything is ready. Begin running and processing data.\t{\"resource\": {\"service.instance.id\": \"0b0df28f-7a1c-408e-8f5c-b43e39f44a5f\", \"service.name\": \"otelcol-opamp\", \"service.version\": \"0.0.1-dev\"}}\n")

// waitQuiet drains arrived until no message came for d.
func waitQuiet(arrived <-chan recorder.Message, d time.Duration) {
	for {
		select {
		case <-arrived:
		case <-time.After(d):
			return
		}
	}
}
