package health

import (
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 5 * time.Second

// capture is a Sink that records every tree it accepts.
type capture struct {
	ch chan *protobufs.ComponentHealth
}

func newCapture() *capture { return &capture{ch: make(chan *protobufs.ComponentHealth, 1024)} }

func (c *capture) sink(h *protobufs.ComponentHealth) error {
	c.ch <- h
	return nil
}

// next waits for the next sent tree.
func (c *capture) next(t testing.TB) *protobufs.ComponentHealth {
	t.Helper()
	select {
	case h := <-c.ch:
		return h
	case <-time.After(waitFor):
		t.Fatal("no tree was sent")
		return nil
	}
}

// remaining drains what is left; call after Shutdown, when nothing more can
// arrive.
func (c *capture) remaining() []*protobufs.ComponentHealth {
	var out []*protobufs.ComponentHealth
	for {
		select {
		case h := <-c.ch:
			out = append(out, h)
		default:
			return out
		}
	}
}

func pid(s string) pipeline.ID {
	var id pipeline.ID
	if err := id.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return id
}

func inst(kind component.Kind, id string, pipelines ...string) *componentstatus.InstanceID {
	var cid component.ID
	if err := cid.UnmarshalText([]byte(id)); err != nil {
		panic(err)
	}
	ps := make([]pipeline.ID, 0, len(pipelines))
	for _, p := range pipelines {
		ps = append(ps, pid(p))
	}
	return componentstatus.NewInstanceID(cid, kind, ps...)
}

func ev(st componentstatus.Status) *componentstatus.Event { return componentstatus.NewEvent(st) }

func shutdown(t testing.TB, r *Reporter) {
	t.Helper()
	require.NoError(t, r.Shutdown(t.Context()))
}

func ns(t time.Time) uint64 { return uint64(t.UnixNano()) }
