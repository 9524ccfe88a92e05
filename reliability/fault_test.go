package reliability

import (
	"fmt"
	"testing"
	"time"

	"github.com/opampext/opampextension/internal/faultproxy"
	"github.com/opampext/opampextension/internal/testserver"
)

// Bounds: generous, for a loaded 2-core machine with the race detector.
const (
	settleBound   = 20 * time.Second // first connection of the fleet
	convergeBound = 15 * time.Second // state after each fault
	deliverBound  = 5 * time.Second  // odd messages, last custom messages
	churnTick     = 40 * time.Millisecond
)

// run is the state a step works on.
type run struct {
	t       *testing.T
	proxy   *faultproxy.Proxy   // the proxy agents reach srv through now
	second  *faultproxy.Proxy   // in front of the servers offers move agents to; nil until an offer step
	proxies []*faultproxy.Proxy // every proxy of the run
	servers *servers
	srv     *testserver.Server // the server agents reach now
	agents  []*agent
	// offer is what an offer step measured, for its summary row.
	offer *offerResult
}

// accepted counts the connections every proxy of the run accepted.
func (r *run) accepted() int {
	n := 0
	for _, p := range r.proxies {
		n += p.Stats().Accepted
	}
	return n
}

// step is one fault: inject applies it, holds it while the fleet churns and
// lifts it (unless after does), returning a description of what it did.
type step struct {
	name string
	kind string
	// reconnects: the fault must make every WebSocket agent reconnect at
	// least once, and each must then resend its full state unasked.
	reconnects bool
	inject     func(r *run) string
	// after runs once the state converged: for faults checked while active.
	after func(r *run)
	// wsOnly: the fault is invisible to HTTP polling (no attempt fails), so
	// only WebSocket agents are checked; see RELIABILITY.md.
	wsOnly bool
}

// TestFaultInjection drives a fleet of agents through a scripted sequence
// of faults and checks after each that every agent's state on the current
// server equals the agent's own, then prints the summary.
func TestFaultInjection(t *testing.T) {
	started := time.Now()
	r := &run{t: t, servers: &servers{}}
	r.srv = r.servers.start(t)
	r.proxy = faultproxy.Start(t, r.srv.Addr())
	r.proxies = []*faultproxy.Proxy{r.proxy}
	r.agents = startFleet(t, r.proxy.Addr(), fleetSettings{
		agents:          8,
		reconnectSpread: 300 * time.Millisecond,
		pollingInterval: 150 * time.Millisecond,
	})
	sum := &summary{}
	for _, a := range r.agents {
		if a.http {
			sum.httpAgents++
		} else {
			sum.wsAgents++
		}
	}

	bases := settle(t, r)
	if t.Failed() {
		return
	}
	for _, st := range faultSteps() {
		sum.steps = append(sum.steps, r.runStep(st, bases, sum))
	}

	sum.reconnects = r.accepted() - len(r.agents)
	countCustom(r, sum)
	sum.elapsed = time.Since(started)
	sum.publish(t)

	if sum.lost > 0 {
		t.Errorf("messages lost: %d state fields did not reach the server within %s (see the steps above)", sum.lost, convergeBound)
	}
	if sum.incompleteResyncs > 0 {
		t.Errorf("%d reconnections were not followed by the full state", sum.incompleteResyncs)
	}
}

// settle waits until the first server holds every agent's full state and
// returns it as the baseline.
func settle(t *testing.T, r *run) map[string]baseline {
	t.Helper()
	deadline := time.Now().Add(settleBound)
	for {
		views := r.srv.Agents()
		bases := map[string]baseline{}
		var missing []lag
		for _, a := range r.agents {
			b, m := baselineOf(a, views[a.uid])
			bases[a.uid] = b
			if len(m) > 0 {
				missing = append(missing, lag{agent: a.name, uid: a.uid, fields: m})
			}
		}
		if len(missing) == 0 {
			return bases
		}
		if time.Now().After(deadline) {
			t.Errorf("the fleet did not settle within %s: %v", settleBound, missing)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runStep injects one fault under churn, then checks convergence and, where
// the fault forced reconnections, the resync of the full state.
func (r *run) runStep(st step, bases map[string]baseline, sum *summary) stepResult {
	t := r.t
	before := r.srv
	marks := marksOf(before, r.agents)
	accepts := r.accepted()
	r.offer = nil

	stop := churn(r.agents, churnTick, st.name)
	detail := st.inject(r)
	stop()

	checked := r.agents
	if st.wsOnly {
		checked = nil
		for _, a := range r.agents {
			if !a.http {
				checked = append(checked, a)
			}
		}
	}
	lags, took := waitConverged(r.srv, checked, bases, convergeBound)
	if st.after != nil {
		st.after(r)
	}
	res := stepResult{name: st.name, kind: st.kind, detail: detail, converged: took, accepts: r.accepted() - accepts, offer: r.offer}
	views := r.srv.Agents()
	for _, l := range lags {
		res.lost += len(l.fields)
		t.Errorf("%s: %s did not converge within %s: %v; on this server: %s", st.name, l.agent, convergeBound, l.fields, digest(views[l.uid]))
	}
	sum.lost += res.lost
	sum.fieldsChecked += fieldCount * len(checked)

	if r.srv != before {
		// A fresh server: everything it holds came from resyncs.
		if askedFullState(r.srv) {
			t.Errorf("%s: the new server asked for the full state; the check proves nothing", st.name)
		}
		sum.resyncsChecked += len(checked)
		sum.incompleteResyncs += len(lags)
		return res
	}
	if !st.reconnects {
		return res
	}
	resynced, failed := waitResynced(r.srv, r.agents, marks, convergeBound)
	sum.resyncsChecked += resynced
	sum.incompleteResyncs += len(failed)
	for _, l := range failed {
		t.Errorf("%s: %s: no full resync within %s: %v", st.name, l.agent, convergeBound, l.fields)
	}
	return res
}

// countCustom waits briefly for the last custom messages, then counts the
// accepted ones that reached some server, once or more, or none.
func countCustom(r *run, sum *summary) {
	deadline := time.Now().Add(deliverBound)
	for {
		got := map[string]int{}
		for _, srv := range r.servers.list() {
			for _, st := range srv.Agents() {
				for _, p := range customPayloads(st) {
					got[p]++
				}
			}
		}
		sent, busy, delivered, dup, lostWS := 0, 0, 0, 0, 0
		lostBy := map[string]int{}
		for _, a := range r.agents {
			s, b := a.custom()
			sent += len(s)
			busy += b
			for _, p := range s {
				if got[p] > 0 {
					delivered++
				} else {
					lostBy[stepOf(p)]++
					lostWS += boolInt(!a.http)
				}
				if got[p] > 1 {
					dup++
				}
			}
		}
		if delivered == sent || time.Now().After(deadline) {
			sum.customSent, sum.customBusy, sum.customDelivered = sent, busy, delivered
			sum.customDuplicated, sum.customLost, sum.customLostWS = dup, sent-delivered, lostWS
			for i := range sum.steps {
				sum.steps[i].customLost = lostBy[sum.steps[i].name]
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hold lets the fleet churn under a fault for d.
func hold(d time.Duration) { time.Sleep(d) }

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
