package reliability

import (
	"fmt"
	"slices"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// faultSteps is the scripted sequence, in order.
func faultSteps() []step {
	return []step{
		{name: "cut", kind: "cut", reconnects: true, inject: func(r *run) string {
			n := r.proxy.CutAll()
			hold(500 * time.Millisecond)
			return plural(n, "connection") + " cut"
		}},
		{name: "restart", kind: "restart", inject: func(r *run) string {
			// The server goes down for a second and comes back empty: polls
			// and dials fail meanwhile.
			r.proxy.Refuse(true)
			n := r.proxy.CutAll()
			r.srv = r.servers.start(r.t)
			r.proxy.Retarget(r.srv.Addr())
			hold(time.Second)
			r.proxy.Refuse(false)
			hold(500 * time.Millisecond)
			return "1s down, back empty; " + plural(n, "connection") + " cut"
		}},
		{name: "failover", kind: "restart", inject: func(r *run) string {
			// The load balancer switches to a fresh replica at once: no
			// attempt fails, and the new server knows nothing and will not
			// ask for the full state. A WebSocket agent sees its connection
			// end and resends everything; an HTTP poller sees its kept-alive
			// connection replaced by a new one and does the same.
			r.srv = r.servers.start(r.t)
			r.proxy.Retarget(r.srv.Addr())
			n := r.proxy.CutAll()
			hold(500 * time.Millisecond)
			return "no downtime, fresh server; " + plural(n, "conn") + " cut"
		}},
		{name: "blackhole", kind: "blackhole", inject: func(r *run) string {
			before := r.proxy.Stats()
			r.proxy.Blackhole(true)
			hold(2 * time.Second)
			r.proxy.Blackhole(false)
			after := r.proxy.Stats()
			return fmt.Sprintf("2s; %d bytes dropped, %d conns reset", after.DroppedBytes-before.DroppedBytes, after.HoleCuts-before.HoleCuts)
		}},
		{name: "latency", kind: "delay", inject: func(r *run) string {
			r.proxy.Delay(200 * time.Millisecond)
			hold(1500 * time.Millisecond)
			return "+200ms per chunk each way, checked while on"
		}, after: func(r *run) { r.proxy.Delay(0) }},
		{name: "refuse", kind: "refuse", reconnects: true, inject: func(r *run) string {
			before := r.proxy.Stats().Refused
			r.proxy.Refuse(true)
			n := r.proxy.CutAll()
			hold(1500 * time.Millisecond)
			r.proxy.Refuse(false)
			return fmt.Sprintf("1.5s; %d cut, %d refused", n, r.proxy.Stats().Refused-before)
		}},
		{name: "throttle", kind: "throttle", reconnects: true, inject: func(r *run) string {
			before := r.servers.throttled.Load()
			r.servers.throttle.Store(true)
			n := r.proxy.CutAll()
			hold(time.Second)
			r.servers.throttle.Store(false)
			return fmt.Sprintf("1s of 503; %d cut, %d answered 503", n, r.servers.throttled.Load()-before)
		}},
		{name: "odd-msgs", kind: "misbehave", inject: misbehave},
	}
}

// oddMessages are replies a server should not send; the agent must shrug
// them off.
var oddMessages = []struct {
	name string
	msg  *protobufs.ServerToAgent
}{
	{"empty", &protobufs.ServerToAgent{}},
	{"unknown flags", &protobufs.ServerToAgent{Flags: 1 << 40}},
	{"3-byte new uid", &protobufs.ServerToAgent{AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: []byte{1, 2, 3}}}},
	{"unknown command", &protobufs.ServerToAgent{Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType(42)}}},
}

// misbehave sends every odd message to every agent, one kind at a time so
// that HTTP replies do not merge them, and checks no agent changed uid.
func misbehave(r *run) string {
	sent := 0
	for _, odd := range oddMessages {
		before := map[string]int{}
		for uid, st := range r.srv.Agents() {
			before[uid] = len(st.Sent)
		}
		for _, a := range r.agents {
			if err := r.srv.Send(a.uid, odd.msg); err != nil {
				r.t.Errorf("misbehave: send %s to %s: %v", odd.name, a.name, err)
				continue
			}
			sent++
		}
		deadline := time.Now().Add(deliverBound)
		for !allGrew(r, before) {
			if time.Now().After(deadline) {
				r.t.Errorf("misbehave: %s not delivered to every agent within %s", odd.name, deliverBound)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	hold(500 * time.Millisecond)
	var want []string
	for _, a := range r.agents {
		want = append(want, a.uid)
	}
	slices.Sort(want)
	if got := r.srv.AgentUIDs(); !slices.Equal(got, want) {
		r.t.Errorf("misbehave: the server sees uids %v, want %v", got, want)
	}
	return fmt.Sprintf("%d odd messages (%d kinds)", sent, len(oddMessages))
}

// allGrew reports whether every agent received something since before.
func allGrew(r *run, before map[string]int) bool {
	views := r.srv.Agents()
	for _, a := range r.agents {
		if st := views[a.uid]; st == nil || len(st.Sent) <= before[a.uid] {
			return false
		}
	}
	return true
}
