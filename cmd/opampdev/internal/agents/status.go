package agents

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// OfferStatus is what an agent last reported about something the server
// offered it: a remote config, or connection settings.
type OfferStatus struct {
	Hash         string `json:"hash,omitempty"` // hex of the offer's hash, as the agent reported it
	Status       string `json:"status"`         // UNSET, APPLIED, APPLYING or FAILED
	ErrorMessage string `json:"error_message,omitempty"`
}

// StatusChange is one status an agent reported for an offer, and when the
// server got it.
type StatusChange struct {
	Hash   string    `json:"hash"`
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// maxStatusChanges bounds the status history kept per agent and kind.
const maxStatusChanges = 16

// recordStatus makes st (received at now) the current status in *cur,
// adding a change to *changes when its hash or status is new. It returns
// false, touching nothing, when st repeats the current status.
func recordStatus(now time.Time, cur **OfferStatus, changes *[]StatusChange, st *OfferStatus) bool {
	old := *cur
	if old != nil && *old == *st {
		return false
	}
	if old == nil || old.Hash != st.Hash || old.Status != st.Status {
		// A new slice: snapshots share the old one.
		keep := (*changes)[max(0, len(*changes)-maxStatusChanges+1):]
		*changes = append(slices.Clip(keep), StatusChange{Hash: st.Hash, Status: st.Status, At: now})
	}
	*cur = st
	return true
}

// historyOf is the changes reported for the hash of cur, oldest first: an
// APPLYING lasts tens of milliseconds, too short for a page that looks
// once a second, so the page shows the way here.
func historyOf(cur *OfferStatus, changes []StatusChange) []StatusChange {
	if cur == nil {
		return nil
	}
	var out []StatusChange
	for _, c := range changes {
		if c.Hash == cur.Hash {
			out = append(out, c)
		}
	}
	return out
}

// statusLine is the terminal line for a status of what (e.g. "remote
// config"), with the agent's message indented under it.
func statusLine(what string, st *OfferStatus) string {
	line := fmt.Sprintf("%s %s: %s", what, shortHash(st.Hash), st.Status)
	if st.ErrorMessage != "" {
		line += "\n  " + st.ErrorMessage
	}
	return line
}

// enumName is the protobuf name of v without its type prefix, e.g.
// "APPLIED" for RemoteConfigStatuses_APPLIED.
func enumName(names map[int32]string, prefix string, v int32) string {
	if name, ok := names[v]; ok {
		return strings.TrimPrefix(name, prefix)
	}
	return fmt.Sprintf("status %d", v)
}

func shortHash(h string) string {
	if h == "" {
		return "(no hash)"
	}
	return h[:min(len(h), 8)]
}
