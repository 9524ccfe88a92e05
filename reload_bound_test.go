package opampextension

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// reloadConfig is a Collector whose opamp extension talks to endpoint
// and reports a large attribute (in its description and effective
// config; not in the resource, which the Collector adds to every log
// line).
func reloadConfig(transport, endpoint, big string) string {
	return collectorYAML{opamp: fmt.Sprintf(`    server:
      %s:
        endpoint: %s
    agent_description:
      non_identifying_attributes:
        big: %q`, transport, endpoint, big)}.String()
}

// serviceStops records how long each service shutdown of a Collector
// took, from its log: "Starting shutdown..." to "Shutdown complete.".
type serviceStops struct {
	mu      sync.Mutex
	started time.Time
	took    []time.Duration
}

func (s *serviceStops) hook(e zapcore.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Message {
	case "Starting shutdown...":
		s.started = e.Time
	case "Shutdown complete.":
		s.took = append(s.took, e.Time.Sub(s.started))
	}
	return nil
}

func (s *serviceStops) durations() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.took...)
}

// TestReloadNotHeldByGoodbye: a real Collector reloads while its server
// is unreachable in two ways; the retiring service's shutdown (this
// extension's goodbye is all it waits for) takes at most the stop bound.
//   - http: a black hole that accepts and never answers, so no poll ever
//     succeeded: no goodbye, so the reload is not held at all.
//   - ws: a server that upgraded and never reads, and a first message (a
//     12 MB attribute) larger than the socket buffers, so the write
//     blocks.
func TestReloadNotHeldByGoodbye(t *testing.T) {
	tests := []struct {
		transport string
		bigSize   int
		bound     time.Duration
	}{
		{transport: "http", bigSize: 10, bound: stopSlack},
		{transport: "ws", bigSize: 12 << 20, bound: stopBound + stopSlack},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			var endpoint string
			var contacts *atomic.Int64 // connections (http) or upgrades (ws) so far
			if tt.transport == "http" {
				bh := startBlackHole(t)
				endpoint, contacts = bh.url("http"), &bh.accepted
			} else {
				deaf := startDeafWS(t)
				endpoint, contacts = deaf.url, &deaf.upgrades
			}
			yaml := reloadConfig(tt.transport, endpoint, strings.Repeat("x", tt.bigSize))
			stops := &serviceStops{}
			run := runCollector(t, yaml, withLogging(zap.Hooks(stops.hook)))
			require.Eventually(t, func() bool { return contacts.Load() == 1 }, 3*waitTime, 10*time.Millisecond)
			time.Sleep(500 * time.Millisecond) // the poll hangs, the write blocks

			run.provider.reload()
			require.Eventually(t, func() bool { return len(stops.durations()) == 1 }, time.Minute, 10*time.Millisecond)
			took := stops.durations()
			t.Logf("The retiring service took %s to shut down", took[0].Round(10*time.Millisecond))
			assert.Less(t, took[0], tt.bound)
		})
	}
}
