package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// timeline is one apply as applyrun saw it, in ms after the trigger: the
// Collector's log lines (message text only) and what each message to the
// server carried. It is kept per sample in the JSON to show where an
// apply's time goes.
func timeline(p *proc, srv *pushServer, from, to time.Time) []string {
	type event struct {
		at   time.Time
		text string
	}
	var ev []event
	for _, l := range p.out.lines.all() {
		if !l.at.Before(from) && !l.at.After(to) {
			ev = append(ev, event{l.at, "log: " + logMessage(l.v)})
		}
	}
	for _, a := range srv.log.all() {
		if !a.at.Before(from) && !a.at.After(to) {
			ev = append(ev, event{a.at, "server: " + describe(a.v)})
		}
	}
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].at.Before(ev[j].at) })
	out := make([]string, len(ev))
	for i, e := range ev {
		out[i] = fmt.Sprintf("%8.1f %s", float64(e.at.Sub(from))/float64(time.Millisecond), e.text)
	}
	return out
}

// logMessage is the message of a console-encoded zap line (time, level,
// caller, message, fields, tab-separated): the fields are long and the
// same on every line.
func logMessage(line string) string {
	if f := strings.Split(line, "\t"); len(f) >= 4 {
		return f[1] + " " + f[3]
	}
	return line
}

// describe names what an AgentToServer message carried.
func describe(m *protobufs.AgentToServer) string {
	var parts []string
	if h := m.GetHealth(); h != nil {
		parts = append(parts, fmt.Sprintf("health healthy=%t entries=%d", h.GetHealthy(), len(h.GetComponentHealthMap())))
	}
	if rs := m.GetRemoteConfigStatus(); rs != nil {
		parts = append(parts, "remote config "+strings.TrimPrefix(rs.GetStatus().String(), "RemoteConfigStatuses_"))
	}
	if m.GetEffectiveConfig() != nil {
		parts = append(parts, "effective config")
	}
	if m.GetAgentDescription() != nil {
		parts = append(parts, "description")
	}
	if m.GetAvailableComponents() != nil {
		parts = append(parts, "components")
	}
	if len(parts) == 0 {
		return "heartbeat or other"
	}
	return strings.Join(parts, ", ")
}
