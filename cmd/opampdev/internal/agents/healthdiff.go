package agents

import (
	"fmt"
	"slices"
	"strings"
)

// describeHealth renders one node: "healthy StatusOK" or
// "UNHEALTHY StatusRecoverableError: last error". Unhealthy is upper case
// so it stands out in a scrolling terminal.
func describeHealth(h *Health) string {
	var b strings.Builder
	if h.Healthy {
		b.WriteString("healthy")
	} else {
		b.WriteString("UNHEALTHY")
	}
	if h.Status != "" {
		b.WriteString(" " + h.Status)
	}
	if h.LastError != "" {
		b.WriteString(": " + h.LastError)
	}
	return b.String()
}

func sameNode(a, b *Health) bool {
	return a.Healthy == b.Healthy && a.Status == b.Status && a.LastError == b.LastError
}

// healthLines reports the root when it changed, then every component
// whose own state changed or that disappeared, as "path: state". Components
// that appear healthy are only counted, so the first report of a healthy
// Collector is one line. Paths join nested names with " / ", sorted.
func healthLines(prev, cur *Health) []string {
	var changed []string
	added := diffChildren("", prev, cur, &changed)
	var head string
	switch {
	case prev == nil || !sameNode(prev, cur):
		head = "health: " + describeHealth(cur)
	case len(changed) > 0:
		head = "health of components changed, overall still " + describeHealth(cur)
	}
	if added > 0 && head != "" {
		head += fmt.Sprintf(" (+%d healthy components)", added)
	} else if added > 0 {
		head = fmt.Sprintf("health: %d more healthy components", added)
	}
	if head == "" {
		return nil
	}
	return append([]string{head}, changed...)
}

// diffChildren appends lines for changed children of cur and returns how
// many healthy components appeared.
func diffChildren(prefix string, prev, cur *Health, out *[]string) int {
	var prevKids map[string]*Health
	if prev != nil {
		prevKids = prev.Components
	}
	names := make([]string, 0, len(cur.Components)+len(prevKids))
	for n := range cur.Components {
		names = append(names, n)
	}
	for n := range prevKids {
		if _, ok := cur.Components[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	added := 0
	for _, n := range names {
		path := prefix + n
		c, p := cur.Components[n], prevKids[n]
		switch {
		case c == nil:
			*out = append(*out, "  "+path+": gone")
			continue
		case p == nil && c.Healthy:
			added++
		case p == nil || !sameNode(p, c):
			*out = append(*out, "  "+path+": "+describeHealth(c))
		}
		added += diffChildren(path+" / ", p, c, out)
	}
	return added
}
