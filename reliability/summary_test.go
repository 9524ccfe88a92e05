package reliability

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// summaryEnv names the file the summary is also written to.
const summaryEnv = "RELIABILITY_SUMMARY"

// stepResult is one injected fault and what followed it.
type stepResult struct {
	name      string
	kind      string
	detail    string
	accepts   int // proxy accepts during the step
	converged time.Duration
	lost      int // state fields not converged within the bound
	// customLost counts custom messages accepted during the step that
	// reached no server.
	customLost int
	// offer is set on connection-settings offer steps.
	offer *offerResult
}

// summary is what the suite prints at the end.
type summary struct {
	wsAgents, httpAgents int
	steps                []stepResult
	reconnects           int // proxy accepts after each agent's first
	resyncsChecked       int // agents checked for a full resync
	incompleteResyncs    int // of those, the ones whose resync was incomplete
	fieldsChecked        int
	lost                 int
	customSent           int
	customDelivered      int
	customDuplicated     int
	customLost           int
	customLostWS         int // of customLost, sent by WebSocket agents
	customBusy           int
	elapsed              time.Duration
}

// faultsByKind counts the injected faults by kind, sorted by kind.
func (s *summary) faultsByKind() []string {
	n := map[string]int{}
	for _, st := range s.steps {
		n[st.kind]++
	}
	kinds := make([]string, 0, len(n))
	for k := range n {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = fmt.Sprintf("%s=%d", k, n[k])
	}
	return out
}

// render is the summary as a plain-text table; steps keep their order.
func (s *summary) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fault-injection summary: %d agents (%d ws, %d http), %s\n",
		s.wsAgents+s.httpAgents, s.wsAgents, s.httpAgents, s.elapsed.Round(100*time.Millisecond))
	fmt.Fprintf(&b, "%-3s %-10s %-9s %-44s %8s %10s %5s %7s\n", "#", "step", "kind", "detail", "accepts", "converged", "lost", "custom-lost")
	for i, st := range s.steps {
		fmt.Fprintf(&b, "%-3d %-10s %-9s %-44s %8d %10s %5d %7d\n", i+1, st.name, st.kind, st.detail, st.accepts, st.converged.Round(10*time.Millisecond), st.lost, st.customLost)
	}
	rows := []struct {
		name  string
		value string
	}{
		{"faults injected", fmt.Sprintf("%d (%s)", len(s.steps), strings.Join(s.faultsByKind(), ", "))},
		{"reconnects", fmt.Sprint(s.reconnects)},
		{"full-state resyncs checked", fmt.Sprintf("%d (incomplete: %d)", s.resyncsChecked, s.incompleteResyncs)},
		{"state fields checked", fmt.Sprint(s.fieldsChecked)},
		{"messages lost", fmt.Sprintf("%d (state fields not converged)", s.lost)},
		{"custom messages", fmt.Sprintf("accepted=%d delivered=%d lost=%d (ws=%d http=%d) duplicated=%d refused-pending=%d",
			s.customSent, s.customDelivered, s.customLost, s.customLostWS, s.customLost-s.customLostWS, s.customDuplicated, s.customBusy)},
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%-27s %s\n", r.name+":", r.value)
	}
	s.renderOffers(&b)
	return b.String()
}

// renderOffers adds the connection-settings offer steps' table: what the
// server the agents ended on says about each offer, and how long until
// every agent was there with that status.
func (s *summary) renderOffers(b *strings.Builder) {
	header := false
	for i, st := range s.steps {
		o := st.offer
		if o == nil {
			continue
		}
		if !header {
			fmt.Fprintf(b, "connection-settings offers:\n%-3s %-14s %-8s %-7s %6s %8s %8s %8s %10s\n",
				"#", "offer", "expected", "on", "FAILED", "reverted", "APPLIED", "ws-recon", "recovered")
			header = true
		}
		want := strings.TrimPrefix(o.want.String(), "ConnectionSettingsStatuses_")
		fmt.Fprintf(b, "%-3d %-14s %-8s %-7s %6d %8d %8d %8d %10s\n",
			i+1, o.hash, want, o.on, o.failed, o.reverted, o.applied, o.wsReconnects, o.recovered.Round(10*time.Millisecond))
	}
}

// publish logs the summary and writes it where RELIABILITY_SUMMARY says.
func (s *summary) publish(t *testing.T) {
	t.Helper()
	out := s.render()
	t.Log("\n" + out)
	if path := os.Getenv(summaryEnv); path != "" {
		if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
			t.Errorf("%s: %v", summaryEnv, err)
		}
	}
}

// TestSummaryRender: the table counts faults by kind, keeps step order and
// shows every counter.
func TestSummaryRender(t *testing.T) {
	s := summary{
		wsAgents: 1, httpAgents: 2,
		steps: []stepResult{
			{name: "first", kind: "cut", detail: "2 conns", accepts: 3, converged: time.Second},
			{name: "second", kind: "blackhole", lost: 4},
			{name: "third", kind: "cut"},
			{name: "fourth", kind: "offer", offer: &offerResult{hash: "h4", want: csFailed, on: "first", failed: 3, reverted: 2, recovered: time.Second}},
		},
		reconnects: 7, resyncsChecked: 5, fieldsChecked: 27, lost: 4, customSent: 9, customDelivered: 8, customLost: 1,
	}
	out := s.render()
	assert.Contains(t, out, "3 agents (1 ws, 2 http)")
	assert.Contains(t, out, "faults injected:            4 (blackhole=1, cut=2, offer=1)")
	assert.Contains(t, out, "4   h4             FAILED   first        3        2        0        0         1s")
	assert.Contains(t, out, "messages lost:              4 ")
	assert.Contains(t, out, "accepted=9 delivered=8 lost=1 (ws=0 http=1)")
	first, third := strings.Index(out, "first"), strings.Index(out, "third")
	require.Positive(t, first)
	assert.Less(t, first, third, "steps keep their order")

	path := t.TempDir() + "/summary.txt"
	t.Setenv(summaryEnv, path)
	s.publish(t)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, out, string(got))
}
