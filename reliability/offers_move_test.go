package reliability

import (
	"fmt"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/faultproxy"
	"github.com/opampext/opampextension/internal/testserver"
)

// secondServer puts a fresh server behind the second proxy, starting the
// proxy on first use, and returns it.
func secondServer(r *run) *testserver.Server {
	srv := r.servers.start(r.t)
	if r.second == nil {
		r.second = faultproxy.Start(r.t, srv.Addr())
		r.proxies = append(r.proxies, r.second)
	}
	r.second.Retarget(srv.Addr())
	r.second.Refuse(false)
	return srv
}

// vanishAfter is how long after an agent's probe reached the second
// server that server goes away for it: time for the answer to get back,
// far from the 2 s a connection must last to be kept.
const vanishAfter = 50 * time.Millisecond

// offerVanish: the first server offers a move to a second one, which
// answers each agent's probe and goes away for it at once (every agent
// reaches it through a proxy of its own, whose connections are then cut
// and new ones refused). Every agent must come back to the first server by
// itself and report FAILED there, its state complete.
func offerVanish(r *run) string {
	const hash = "offer-vanish"
	second, doors := offerDoors(r, hash)
	marks := marksOf(r.srv, r.agents)
	start, closed, cut := closeDoors(r, second, doors, 1, vanishAfter)
	res := awaitStatus(r, r.srv, "first", hash, csFailed, marks, start)
	return fmt.Sprintf("second gone %s after each of %d probes; %d cut; %d back, FAILED (%d after the switch)",
		vanishAfter, closed, cut, res.failed, res.reverted)
}

// offerDoors starts a fresh second server, puts a proxy of its own in
// front of it for every agent (its door) and offers every agent a move
// through its door under hash.
func offerDoors(r *run, hash string) (*testserver.Server, map[string]*faultproxy.Proxy) {
	second := r.servers.start(r.t)
	doors := map[string]*faultproxy.Proxy{}
	for _, a := range r.agents {
		doors[a.uid] = faultproxy.Start(r.t, second.Addr())
		r.proxies = append(r.proxies, doors[a.uid])
	}
	sendOffers(r, func(a *agent) *protobufs.ServerToAgent { return offer(hash, a.endpoint(doors[a.uid].Addr()), nil) })
	return second, doors
}

// closeDoors closes each agent's door to srv grace after msgs of its
// messages reached srv (1: its probe), and returns when the first door
// closed, how many closed and how many connections that cut.
func closeDoors(r *run, srv *testserver.Server, doors map[string]*faultproxy.Proxy, msgs int, grace time.Duration) (first time.Time, closed, cut int) {
	seen, gone := map[string]time.Time{}, map[string]bool{}
	deadline := time.Now().Add(convergeBound)
	for closed < len(doors) {
		if time.Now().After(deadline) {
			r.t.Errorf("only %d of %d agents sent %d messages to the second server within %s", closed, len(doors), msgs, convergeBound)
			break
		}
		for uid, door := range doors {
			if st := srv.Agent(uid); seen[uid].IsZero() && st != nil && st.MessageCount >= msgs {
				seen[uid] = time.Now()
			}
			if at := seen[uid]; !at.IsZero() && time.Since(at) >= grace && !gone[uid] {
				gone[uid] = true
				door.Refuse(true)
				cut += door.CutAll()
				closed++
				if first.IsZero() {
					first = time.Now()
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return first, closed, cut
}

// moveHold is how long the second server of offer-move holds its answer
// to each agent's probe: every agent's try is under way when the first
// server goes down, well within offerTryTimeout.
const moveHold = 800 * time.Millisecond

// offerMove: the first server offers a move to a fresh second one, slow
// to answer the probes, and goes away while every agent's try is under
// way (its connections cut, new ones refused). Every agent must end up on
// the second server, APPLIED there, with its full state.
func offerMove(r *run) string {
	const hash = "offer-move"
	r.servers.slowFirst.Store(int64(moveHold))
	defer r.servers.slowFirst.Store(0)
	second := secondServer(r)
	sendOffers(r, func(a *agent) *protobufs.ServerToAgent { return offer(hash, a.endpoint(r.second.Addr()), nil) })
	if !waitAll(r, second, func(st *testserver.AgentState) bool { return st.MessageCount > 0 }) {
		r.t.Errorf("offer-move: not every agent probed the second server within %s", convergeBound)
	}
	r.proxy.Refuse(true)
	cut := r.proxy.CutAll()
	start := time.Now()
	r.srv, r.proxy = second, r.second
	res := awaitStatus(r, second, "second", hash, csApplied, nil, start)
	return fmt.Sprintf("first gone during the tries; %d cut; %d APPLIED on second", cut, res.applied)
}

// waitAll waits up to convergeBound until cond holds for every agent's
// record on srv.
func waitAll(r *run, srv *testserver.Server, cond func(*testserver.AgentState) bool) bool {
	deadline := time.Now().Add(convergeBound)
	for {
		views, ok := srv.Agents(), true
		for _, a := range r.agents {
			if st := views[a.uid]; st == nil || !cond(st) {
				ok = false
			}
		}
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
