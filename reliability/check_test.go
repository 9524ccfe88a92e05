package reliability

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/component/componentstatus"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/testserver"
)

// baseline is what an agent reported to the first server once settled.
// Description, effective config, capabilities and components never change
// during the run, so every later server must end up with exactly these.
type baseline struct {
	desc   *protobufs.AgentDescription
	config *protobufs.EffectiveConfig
	caps   uint64
	hash   []byte
}

// baselineOf takes the baseline from the first server's view of a, or says
// what is still missing.
func baselineOf(a *agent, st *testserver.AgentState) (baseline, []string) {
	if st == nil {
		return baseline{}, []string{"unknown to the server"}
	}
	var missing []string
	if !hasIdentity(st.Description, a.uid) {
		missing = append(missing, "description")
	}
	if len(st.EffectiveConfig.GetConfigMap().GetConfigMap()) == 0 {
		missing = append(missing, "effective_config")
	}
	if len(st.AvailableComponentsHash) == 0 || st.AvailableComponents == nil {
		missing = append(missing, "components")
	}
	if st.Capabilities == 0 {
		missing = append(missing, "capabilities")
	}
	b := baseline{desc: st.Description, config: st.EffectiveConfig, caps: st.Capabilities, hash: st.AvailableComponentsHash}
	return b, append(missing, diff(a, st, b)...)
}

// hasIdentity reports whether d identifies the agent by service.instance.id.
func hasIdentity(d *protobufs.AgentDescription, uid string) bool {
	for _, kv := range d.GetIdentifyingAttributes() {
		if kv.GetKey() == "service.instance.id" && kv.GetValue().GetStringValue() == uid {
			return true
		}
	}
	return false
}

// fieldCount is how many fields diff compares per agent.
var fieldCount = 7 + len(components)

// diff lists, sorted, the fields of the server's view of a that differ
// from the agent's current state. A nil view differs in every field.
func diff(a *agent, st *testserver.AgentState, b baseline) []string {
	if st == nil {
		st = &testserver.AgentState{}
	}
	var out []string
	check := func(field string, ok bool) {
		if !ok {
			out = append(out, field)
		}
	}
	check("description", b.desc != nil && proto.Equal(st.Description, b.desc))
	check("effective_config", b.config != nil && proto.Equal(st.EffectiveConfig, b.config))
	check("capabilities", st.Capabilities == b.caps)
	check("components_hash", len(b.hash) > 0 && bytes.Equal(st.AvailableComponentsHash, b.hash))
	check("components_map", len(st.AvailableComponents.GetComponents()) > 0 && bytes.Equal(st.AvailableComponents.GetHash(), b.hash))
	check("custom_capabilities", slices.Contains(st.CustomCapabilities.GetCapabilities(), capability))

	want := a.expectedStatus()
	worst := componentstatus.StatusOK
	for _, c := range components {
		s := want[c.key]
		if s != componentstatus.StatusOK {
			worst = s
		}
		leaf := st.Health.GetComponentHealthMap()[c.node].GetComponentHealthMap()[c.key]
		check("health:"+c.key, leaf != nil && leaf.GetStatus() == s.String() && leaf.GetHealthy() == (s == componentstatus.StatusOK))
	}
	root := st.Health
	check("health:root", root != nil && root.GetStatus() == worst.String() && root.GetHealthy() == (worst == componentstatus.StatusOK))
	slices.Sort(out)
	return out
}

// lag is an agent whose state on the server has not converged.
type lag struct {
	agent, uid string
	fields     []string
}

func (l lag) String() string { return fmt.Sprintf("%s%v", l.agent, l.fields) }

// waitConverged polls srv until every agent's state there equals its
// current state, or bound passes. It returns what still differs (empty on
// success) and how long it took.
func waitConverged(srv *testserver.Server, agents []*agent, bases map[string]baseline, bound time.Duration) ([]lag, time.Duration) {
	start := time.Now()
	for {
		views := srv.Agents()
		var lags []lag
		for _, a := range agents {
			if d := diff(a, views[a.uid], bases[a.uid]); len(d) > 0 {
				lags = append(lags, lag{agent: a.name, uid: a.uid, fields: d})
			}
		}
		if len(lags) == 0 || time.Since(start) > bound {
			return lags, time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mark is where an agent's record on a server stood when a step began.
type mark struct {
	messages, connections int
}

func marksOf(srv *testserver.Server, agents []*agent) map[string]mark {
	views := srv.Agents()
	out := make(map[string]mark, len(agents))
	for _, a := range agents {
		if st := views[a.uid]; st != nil {
			out[a.uid] = mark{messages: len(st.Messages), connections: len(st.Headers)}
		}
	}
	return out
}

// resyncMissing lists, sorted, the parts of the full state absent from
// msgs: after a reconnection the agent must offer all of it unasked.
func resyncMissing(msgs []*protobufs.AgentToServer) []string {
	var desc, cfg, health, caps, hash bool
	for _, m := range msgs {
		desc = desc || m.GetAgentDescription() != nil
		cfg = cfg || m.GetEffectiveConfig() != nil
		health = health || m.GetHealth() != nil
		caps = caps || m.GetCapabilities() != 0
		hash = hash || len(m.GetAvailableComponents().GetHash()) > 0
	}
	var out []string
	for _, f := range []struct {
		name string
		ok   bool
	}{{"capabilities", caps}, {"components_hash", hash}, {"description", desc}, {"effective_config", cfg}, {"health", health}} {
		if !f.ok {
			out = append(out, f.name)
		}
	}
	return out
}

// askedFullState reports whether srv ever asked an agent for its full state.
func askedFullState(srv *testserver.Server) bool {
	for _, st := range srv.Agents() {
		for _, m := range st.Sent {
			if m.GetFlags()&uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState) != 0 {
				return true
			}
		}
	}
	return false
}

// digest says what an agent's messages on a server carried, for failures.
func digest(st *testserver.AgentState) string {
	if st == nil {
		return "no messages"
	}
	var desc, cfg, health, hash, custom int
	for _, m := range st.Messages {
		if m.GetAgentDescription() != nil {
			desc++
		}
		if m.GetEffectiveConfig() != nil {
			cfg++
		}
		if m.GetHealth() != nil {
			health++
		}
		if len(m.GetAvailableComponents().GetHash()) > 0 {
			hash++
		}
		if m.GetCustomCapabilities() != nil {
			custom++
		}
	}
	return fmt.Sprintf("%d messages (%s) of which description=%d effective_config=%d health=%d components=%d custom_capabilities=%d",
		len(st.Messages), st.Transport, desc, cfg, health, hash, custom)
}

// waitResynced polls srv until every WebSocket agent has opened a new
// connection since its mark and its messages since then carry the full
// state, or bound passes. It returns how many agents were checked and the
// ones still failing, with what they lack. HTTP agents are left out: the
// server cannot tell their connections apart.
func waitResynced(srv *testserver.Server, agents []*agent, marks map[string]mark, bound time.Duration) (int, []lag) {
	start := time.Now()
	for {
		views := srv.Agents()
		checked := 0
		var lags []lag
		for _, a := range agents {
			if a.http {
				continue
			}
			checked++
			v, m := views[a.uid], marks[a.uid]
			switch {
			case v == nil || len(v.Headers) <= m.connections:
				lags = append(lags, lag{agent: a.name, uid: a.uid, fields: []string{"no reconnection"}})
			default:
				if missing := resyncMissing(v.Messages[m.messages:]); len(missing) > 0 {
					lags = append(lags, lag{agent: a.name, uid: a.uid, fields: missing})
				}
			}
		}
		if len(lags) == 0 || time.Since(start) > bound {
			return checked, lags
		}
		time.Sleep(100 * time.Millisecond)
	}
}
