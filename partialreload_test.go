package opampextension

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/opampext/opampextension/internal/testserver"
)

// partialReloadConfig is a Collector whose traces pipeline starts at
// receiver, reporting to endpoint as uid.
func partialReloadConfig(receiver, endpoint, uid string) string {
	return collectorYAML{receiver: receiver, opamp: fmt.Sprintf(`    server:
      ws:
        endpoint: %s
    instance_uid: %s`, endpoint, uid)}.String()
}

// TestPartialReloadRemovesGoneComponents runs a real Collector with core's
// partial receiver reload (service.partialReload and
// service.partialReloadReceivers, v0.165.0) and renames its receiver: the
// extension is not rebuilt and gets no new config snapshot, only the old
// receiver's Stopping and Stopped. The server must see the new receiver,
// no trace of the old one, and a healthy root (issue 10, part 5).
func TestPartialReloadRemovesGoneComponents(t *testing.T) {
	srv := testserver.Start(t)
	uid := "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c80"
	run := runCollector(t, partialReloadConfig("nop", srv.WSURL(), uid),
		withGates("service.partialReload", "service.partialReloadReceivers"), withCleanStop())

	leaves := func(a *testserver.AgentState) map[string]bool {
		out := map[string]bool{}
		for k := range a.Health.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap() {
			out[k] = true
		}
		return out
	}
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
		return a.UID == uid && a.Health.GetHealthy() && leaves(a)["receiver:nop"]
	})
	connections := srv.Connections()

	run.provider.change(partialReloadConfig("nop/renamed", srv.WSURL(), uid))
	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
		l := leaves(a)
		return a.UID == uid && l["receiver:nop/renamed"] && !l["receiver:nop"] && a.Health.GetHealthy()
	})
	assert.True(t, st.Health.GetHealthy(), "root: %s", st.Health.GetStatus())
	assert.Equal(t, connections, srv.Connections(), "a partial reload keeps the extension and its connection")
}
