//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/e2e/echoext"
	"github.com/opampext/opampextension/internal/testserver"
)

// echoAgentConfig adds the opampecho extension; the Supervisor adds its
// own opamp extension to service.extensions.
const echoAgentConfig = `
receivers:
  nop:
exporters:
  nop:
extensions:
  opampecho:
service:
  extensions: [opampecho]
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
  telemetry:
    metrics:
      level: none
`

// TestSupervisorCustomMessages: the component's custom capability reaches
// the server, a server message reaches the component and the component's
// reply reaches the server, all through the Supervisor.
func TestSupervisorCustomMessages(t *testing.T) {
	srv := testserver.Start(t)
	s := startSupervisor(t, srv, supervisorOptions{collector: echoDistroBin(t), agentConfig: echoAgentConfig})
	s.waitHealthy(t)
	uid := s.instanceUID(t)

	srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return slices.Contains(a.CustomCapabilities.GetCapabilities(), echoext.Capability)
	})

	const n = 3
	var payloads []string
	start := time.Now()
	for i := range n {
		p := fmt.Sprintf("ping-%d-%d", i, time.Now().UnixNano())
		payloads = append(payloads, p)
		require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{CustomMessage: &protobufs.CustomMessage{
			Capability: echoext.Capability, Type: "ping", Data: []byte(p),
		}}))
	}
	a := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return len(echoes(a)) >= n
	})
	t.Logf("%d echoes after %v", n, time.Since(start).Round(time.Millisecond))
	assert.ElementsMatch(t, payloads, echoes(a))
}

// echoes lists the data of the echo replies received, in arrival order.
func echoes(a *testserver.AgentState) []string {
	var out []string
	for _, m := range a.CustomMessages {
		if m.GetCapability() == echoext.Capability && m.GetType() == echoext.ReplyType {
			out = append(out, string(m.GetData()))
		}
	}
	return out
}
