package reliability

import (
	"fmt"
	"slices"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/testserver"
)

// faultSteps is the scripted sequence, in order.
func faultSteps() []step {
	return append([]step{
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
		{name: "unavailable", kind: "unavailable", reconnects: true, inject: func(r *run) string {
			// The server is overloaded: every message is answered
			// UNAVAILABLE with a retry_after. WebSocket agents leave and
			// come back; HTTP agents hold their refused state for later.
			before := r.servers.unavailables.Load()
			r.servers.unavailable.Store(true)
			hold(1500 * time.Millisecond)
			r.servers.unavailable.Store(false)
			return fmt.Sprintf("1.5s; %d messages answered UNAVAILABLE (retry_after %s)", r.servers.unavailables.Load()-before, unavailableRetry)
		}},
		{name: "413", kind: "too-large", reconnects: true, inject: tooLarge},
		{name: "odd-msgs", kind: "misbehave", inject: misbehave},
	}, offerSteps()...)
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

// tooLarge is the 413 fault: a proxy in front of the server starts
// refusing HTTP bodies larger than the state without its effective config
// (413), and the connections are cut so that every HTTP agent sends its
// full state into it. Each must get the rest of its state through without
// sending the refused request again; then the proxy is redeployed with its
// limit fixed (the connections cut again) and everything must converge.
// WebSocket upgrades carry no body: those agents only reconnect.
func tooLarge(r *run) string {
	limit := int64(limitBetween(r))
	before := r.servers.tooLarge.Load()
	r.servers.bodyLimit.Store(limit)
	marks := marksOf(r.srv, r.agents)
	n := r.proxy.CutAll()
	deadline := time.Now().Add(convergeBound)
	for _, a := range r.agents {
		if !a.http {
			continue
		}
		for !sentTrimmed(r.srv.Agent(a.uid), marks[a.uid].messages) {
			if time.Now().After(deadline) {
				r.t.Errorf("413: %s sent no state without its effective config within %s", a.name, convergeBound)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	refused := r.servers.tooLarge.Load() - before
	r.servers.bodyLimit.Store(0)
	n += r.proxy.CutAll()
	hold(500 * time.Millisecond)
	return fmt.Sprintf("bodies over %d bytes refused: %d answered 413; %s cut", limit, refused, plural(n, "connection"))
}

// limitBetween is a body size every HTTP agent's latest full state
// exceeds and its state without the effective config fits: halfway
// between the largest of the latter and the smallest of the former.
func limitBetween(r *run) int {
	rest, full := 0, 1<<30
	for _, a := range r.agents {
		st := r.srv.Agent(a.uid)
		if !a.http || st == nil {
			continue
		}
		for i := len(st.Messages) - 1; i >= 0; i-- {
			m := st.Messages[i]
			if m.GetEffectiveConfig() == nil || m.GetHealth() == nil {
				continue
			}
			without := proto.CloneOf(m)
			without.EffectiveConfig = nil
			rest, full = max(rest, proto.Size(without)), min(full, proto.Size(m))
			break
		}
	}
	if rest >= full {
		r.t.Errorf("413: no size between the state without its config (%d) and the full state (%d)", rest, full)
	}
	return (rest + full) / 2
}

// sentTrimmed: after message from, the agent got a message with its
// description and health but no effective config through.
func sentTrimmed(st *testserver.AgentState, from int) bool {
	if st == nil {
		return false
	}
	for _, m := range st.Messages[min(from, len(st.Messages)):] {
		if m.GetAgentDescription() != nil && m.GetHealth() != nil && m.GetEffectiveConfig() == nil {
			return true
		}
	}
	return false
}
