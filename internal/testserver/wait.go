package testserver

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// pollInterval is how often WaitFor re-evaluates its condition.
const pollInterval = 10 * time.Millisecond

// WaitFor polls cond until it holds, failing the test (t.Fatalf, so call it
// from the test goroutine) with a summary of the agents after timeout.
func (s *Server) WaitFor(t testing.TB, timeout time.Duration, cond func(s *Server) bool) {
	t.Helper()
	if !poll(timeout, func() bool { return cond(s) }) {
		t.Fatalf("testserver: condition not met within %v; %s", timeout, s.summary())
	}
}

// poll evaluates cond every pollInterval until it holds (true) or timeout
// passes (false): the wait both servers' WaitFor share.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// WaitAgent waits until some agent's snapshot satisfies cond and returns
// that snapshot; agents are tried in uid order. It suits tests with one agent.
func (s *Server) WaitAgent(t testing.TB, timeout time.Duration, cond func(a *AgentState) bool) *AgentState {
	t.Helper()
	var found *AgentState
	s.WaitFor(t, timeout, func(s *Server) bool {
		for _, uid := range s.AgentUIDs() {
			if a := s.Agent(uid); a != nil && cond(a) {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

// summary describes the server's state for failure messages.
func (s *Server) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d connection attempts, %d open connections, agents:", len(s.RequestHeaders()), s.Connections())
	uids := s.AgentUIDs()
	if len(uids) == 0 {
		b.WriteString(" none")
	}
	for _, uid := range uids {
		a := s.Agent(uid)
		if a == nil {
			continue
		}
		fmt.Fprintf(&b, " [%s %s messages=%d connected=%t disconnected=%t]",
			uid, a.Transport, a.MessageCount, a.Connected, a.Disconnected)
	}
	return b.String()
}
