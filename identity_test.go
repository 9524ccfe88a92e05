package opampextension

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/opampext/opampextension/internal/testserver"
)

// identityConfig is a Collector reporting to a WebSocket server, with an
// optional service.telemetry.resource block.
func identityConfig(endpoint, resource string) string {
	return collectorYAML{opamp: "    server:\n      ws:\n        endpoint: " + endpoint, telemetry: resource}.String()
}

func resourceBlock(instanceID string) string {
	if instanceID == "" {
		return ""
	}
	return fmt.Sprintf("    resource:\n      service.instance.id: %s", instanceID)
}

// TestReloadFollowsConfiguredInstanceID: after a reload (SIGHUP, here a
// config provider's change) the OpAMP instance uid is the resource's
// service.instance.id when the config sets it, changed or newly added,
// exactly as after a restart, so OpAMP and the Collector's own telemetry
// agree; one core draws anew on every reload leaves the uid as it was.
func TestReloadFollowsConfiguredInstanceID(t *testing.T) {
	const idA, idB = "0193a5c1-0000-7000-8000-00000000000a", "0193a5c1-0000-7000-8000-00000000000b"
	tests := []struct {
		name          string
		first, second string // configured service.instance.id, "" for none
		wantSame      bool   // the uid survives the reload
	}{
		{name: "configured id changed", first: idA, second: idB},
		{name: "configured id added", first: "", second: idB},
		{name: "configured id unchanged", first: idA, second: idA, wantSame: true},
		{name: "drawn by core", wantSame: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.Start(t)
			run := runCollector(t, identityConfig(srv.WSURL(), resourceBlock(tt.first)))
			first := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })
			if tt.first != "" {
				assert.Equal(t, tt.first, first.UID)
			}

			run.provider.change(identityConfig(srv.WSURL(), resourceBlock(tt.second)))
			want := tt.second
			if tt.wantSame {
				want = first.UID
			}
			// The new instance starts its sequence numbers at 0 again.
			second := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
				return a.UID == want && a.Description != nil && countZeros(a.SequenceNums) == 1+boolInt(want == first.UID)
			})
			assert.Equal(t, want, attr(second.Description.GetIdentifyingAttributes(), "service.instance.id"))
			if tt.wantSame {
				assert.Equal(t, []string{first.UID}, srv.AgentUIDs())
			}
		})
	}
}

func countZeros(seqs []uint64) int {
	n := 0
	for _, s := range seqs {
		if s == 0 {
			n++
		}
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
