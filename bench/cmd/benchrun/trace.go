package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opampext/opampextension/bench/recorder"
)

// trace merges the Collector's log lines and the server's messages up to
// until (UnixNano) into one timeline, in ms after exec: what a start-up
// waited for, run by run, in results.json.
func (r *running) trace(snap recorder.Snapshot, until int64) []string {
	type event struct {
		at   int64
		text string
	}
	var ev []event
	for _, l := range r.log.Lines() {
		if l.at.UnixNano() > until {
			break
		}
		ev = append(ev, event{l.at.UnixNano(), "log    " + shortLogLine(l.text)})
	}
	for _, m := range snap.Messages {
		if m.At > until {
			break
		}
		ev = append(ev, event{m.At, fmt.Sprintf("server %d bytes: %s", m.Size, kindNames(m.Kinds))})
	}
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].at < ev[j].at })
	out := make([]string, len(ev))
	t0 := r.start.UnixNano()
	for i, e := range ev {
		out[i] = fmt.Sprintf("%7.1f ms  %s", float64(e.at-t0)/float64(time.Millisecond), e.text)
	}
	return out
}

// shortLogLine keeps a console-encoded zap line's level, message and the
// start of its fields: the timestamp is the trace's own, the caller noise.
func shortLogLine(line string) string {
	f := strings.Split(line, "\t")
	if len(f) < 4 {
		return line
	}
	s := f[1] + " " + f[3]
	if len(f) > 4 {
		fields := withoutResource(f[4])
		if len(fields) > 100 {
			fields = fields[:100] + "…"
		}
		s += " " + fields
	}
	return s
}

// withoutResource drops the resource attributes, the same on every line,
// from a line's JSON fields.
func withoutResource(fields string) string {
	var m map[string]any
	if json.Unmarshal([]byte(fields), &m) != nil {
		return fields
	}
	delete(m, "resource")
	if len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fields
	}
	return string(b)
}

// kindNames spells out what a recorded message carried.
func kindNames(k recorder.Kind) string {
	if k == 0 {
		return "heartbeat"
	}
	var names []string
	for _, n := range []struct {
		k    recorder.Kind
		name string
	}{
		{recorder.KindDescription, "description"}, {recorder.KindHealth, "health"}, {recorder.KindHealthy, "(healthy)"},
		{recorder.KindEffectiveConfig, "effective config"}, {recorder.KindComponentsHash, "components hash"},
		{recorder.KindComponentsFull, "component list"}, {recorder.KindOther, "other"},
	} {
		if k&n.k != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}
