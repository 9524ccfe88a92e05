package reliability

import (
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/faultproxy"
	"github.com/opampext/opampextension/internal/testserver"
)

// revertBound is how long an agent may take to come back from a switched-to
// server that went away before a connection to it lasted: three failed
// attempts with fresh backoff (0.5-1 s, 1-2 s, 2-4 s) and the reconnect
// spread, with room for a loaded machine.
const revertBound = 10 * time.Second

// smallRun starts one WebSocket and one HTTP agent behind a proxy in front
// of a server, settled, and returns the run narrowed to the agent under
// test (the other one idles).
func smallRun(t *testing.T, http bool) (*run, map[string]baseline) {
	t.Helper()
	r := &run{t: t, servers: &servers{}}
	r.srv = r.servers.start(t)
	r.proxy = faultproxy.Start(t, r.srv.Addr())
	r.proxies = []*faultproxy.Proxy{r.proxy}
	r.agents = startFleet(t, r.proxy.Addr(), fleetSettings{agents: 2, reconnectSpread: 300 * time.Millisecond, pollingInterval: 150 * time.Millisecond})
	bases := settle(t, r)
	if bases == nil {
		t.FailNow()
	}
	r.agents = r.agents[boolInt(http):][:1]
	return r, bases
}

// TestOfferVanishAfterOnePollHTTP: an HTTP agent moved by an offer to a
// server that answers its probe and one poll and then goes away (well
// within the 2 s a connection must last) must come back to the server it
// came from and report FAILED there.
func TestOfferVanishAfterOnePollHTTP(t *testing.T) {
	r, _ := smallRun(t, true)
	vanishAndReturn(r, "vanish-http", 2)
}

// TestOfferVanishAfterEarlierFailuresWS: a WebSocket agent whose current
// connection came after failed attempts (a server down for a while), and
// then served for long, is moved by an offer to a server that goes away
// right after the probe. It must come back as fast as an agent without
// that history: the failures before the switch are not the new
// connection's.
func TestOfferVanishAfterEarlierFailuresWS(t *testing.T) {
	r, _ := smallRun(t, false)
	a := r.agents[0]
	r.proxy.Refuse(true)
	r.proxy.CutAll()
	hold(3500 * time.Millisecond) // three or four failed attempts
	marks := marksOf(r.srv, r.agents)
	r.proxy.Refuse(false)
	if !waitAll(r, r.srv, func(st *testserver.AgentState) bool {
		return st.Connected && len(st.Headers) > marks[a.uid].connections
	}) {
		t.Fatalf("%s did not reconnect", a.name)
	}
	hold(3 * time.Second) // the connection is proven
	vanishAndReturn(r, "vanish-ws", 1)
}

// vanishAndReturn offers the run's agent a move under hash to a second
// server that goes away vanishAfter after msgs of the agent's messages
// reached it, and checks the agent is back on the first server, FAILED
// there, within revertBound.
func vanishAndReturn(r *run, hash string, msgs int) {
	r.t.Helper()
	second, doors := offerDoors(r, hash)
	start, _, _ := closeDoors(r, second, doors, msgs, vanishAfter)
	res := awaitStatus(r, r.srv, "first", hash, csFailed, nil, start)
	r.t.Logf("back after %s (bound %s)", res.recovered.Round(10*time.Millisecond), revertBound)
	if res.recovered > revertBound {
		r.t.Errorf("back after %s, over %s", res.recovered, revertBound)
	}
}

// TestChangeDuringTryReachesNewServer: a health change made while an
// offered connection is being tried (the new server slow to answer the
// probe) goes to the old server; once the agent has moved, the new server
// must have it too.
func TestChangeDuringTryReachesNewServer(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			r, bases := smallRun(t, tr == "http")
			a := r.agents[0]
			r.servers.slowFirst.Store(int64(moveHold))
			second := secondServer(r)
			sendOffers(r, func(a *agent) *protobufs.ServerToAgent { return offer("during", a.endpoint(r.second.Addr()), nil) })
			if !waitAll(r, second, func(st *testserver.AgentState) bool { return st.MessageCount > 0 }) {
				t.Fatalf("%s did not probe the second server", a.name)
			}
			a.flip(components[0])
			awaitStatus(r, second, "second", "during", csApplied, nil, time.Now())
			if lags, _ := waitConverged(second, r.agents, bases, deliverBound); len(lags) > 0 {
				t.Errorf("the change made during the try did not reach the new server within %s: %v", deliverBound, lags)
			}
		})
	}
}

// TestLearntLimitDoesNotFollowMove: an HTTP agent that learnt a body
// limit from its server (413) and is then moved by an offer to another
// server must send that server its whole state: the limit was the old
// server's (or its proxy's).
func TestLearntLimitDoesNotFollowMove(t *testing.T) {
	r, bases := smallRun(t, true)
	a := r.agents[0]
	marks := marksOf(r.srv, r.agents)
	r.servers.bodyLimit.Store(int64(limitBetween(r)))
	r.proxy.CutAll() // the next poll carries the full state into the limit
	if !waitAll(r, r.srv, func(st *testserver.AgentState) bool { return sentTrimmed(st, marks[a.uid].messages) }) {
		t.Fatalf("%s sent nothing without its effective config", a.name)
	}
	second := secondServer(r)
	r.servers.bodyLimit.Store(0)
	sendOffers(r, func(a *agent) *protobufs.ServerToAgent { return offer("after-413", a.endpoint(r.second.Addr()), nil) })
	awaitStatus(r, second, "second", "after-413", csApplied, nil, time.Now())
	if lags, _ := waitConverged(second, r.agents, bases, deliverBound); len(lags) > 0 {
		t.Errorf("the new server did not get the whole state within %s: %v; %s", deliverBound, lags, digest(second.Agent(a.uid)))
	}
}
