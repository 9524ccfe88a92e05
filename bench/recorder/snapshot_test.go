package recorder

import (
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
)

func TestKindsOf(t *testing.T) {
	tests := []struct {
		name string
		msg  *protobufs.AgentToServer
		want Kind
	}{
		{"heartbeat", &protobufs.AgentToServer{InstanceUid: []byte{1}, SequenceNum: 7, Capabilities: 1}, 0},
		{"unhealthy", &protobufs.AgentToServer{Health: &protobufs.ComponentHealth{}}, KindHealth},
		{"healthy", &protobufs.AgentToServer{Health: &protobufs.ComponentHealth{Healthy: true}}, KindHealth | KindHealthy},
		{"hash only", &protobufs.AgentToServer{AvailableComponents: &protobufs.AvailableComponents{Hash: []byte{1}}}, KindComponentsHash},
		{"full list", &protobufs.AgentToServer{AvailableComponents: &protobufs.AvailableComponents{
			Hash: []byte{1}, Components: map[string]*protobufs.ComponentDetails{"receivers": {}},
		}}, KindComponentsFull},
		{"first message", &protobufs.AgentToServer{
			AgentDescription: &protobufs.AgentDescription{},
			EffectiveConfig:  &protobufs.EffectiveConfig{},
		}, KindDescription | KindEffectiveConfig},
		{"custom message", &protobufs.AgentToServer{CustomMessage: &protobufs.CustomMessage{}}, KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, kindsOf(tt.msg))
		})
	}
}

func TestSnapshotWindowAndPeak(t *testing.T) {
	const s = int64(1e9)
	snap := Snapshot{
		Messages: []Message{{At: 1 * s, Size: 10}, {At: 2 * s, Size: 20}, {At: 3 * s, Size: 40}},
		Attempts: []int64{0, s / 2, s + 1, s + 2, s + 3, 3 * s},
	}
	tests := []struct {
		name             string
		from, to         int64
		msgs, bytes, top int
	}{
		{"all", 0, 4 * s, 3, 70, 3},
		{"half open", 1 * s, 3 * s, 2, 30, 3},
		{"empty", 5 * s, 6 * s, 0, 0, 0},
		{"shifted buckets", s / 2, 4 * s, 3, 70, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, b := snap.Window(tt.from, tt.to)
			assert.Equal(t, tt.msgs, m)
			assert.Equal(t, tt.bytes, b)
			assert.Equal(t, tt.top, snap.PeakAttemptsPerSecond(tt.from, tt.to))
		})
	}
}
