package testserver

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// EventKind says what happened.
type EventKind int

// Kinds of events a Raw server records.
const (
	// EventUpgrade: a WebSocket connection was accepted (Conn is its number).
	EventUpgrade EventKind = iota + 1
	// EventRefused: an upgrade or HTTP request was answered with Status
	// and no OpAMP processing (a redirect, 503, 413...).
	EventRefused
	// EventMessage: a message arrived (Req).
	EventMessage
	// EventAnswer: the server answered a message (Reply), or pushed one.
	EventAnswer
	// EventClientClose: the agent sent a close frame with Code.
	EventClientClose
	// EventServerClose: the server sent a close frame with Code.
	EventServerClose
	// EventEnd: the WebSocket connection ended (Err says how).
	EventEnd
	// EventPing: the agent sent a WebSocket ping.
	EventPing
)

func (k EventKind) String() string {
	names := [...]string{"?", "upgrade", "refused", "message", "answer", "client-close", "server-close", "end", "ping"}
	if int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event is one entry of a Raw server's log.
type Event struct {
	Kind      EventKind
	Transport Transport
	Conn      int
	At        time.Time
	Path      string
	Header    http.Header
	Status    int
	Code      int
	Req       *Request
	Reply     *Reply
	Err       error
}

func (e Event) String() string {
	s := fmt.Sprintf("%s %s#%d", e.Kind, e.Transport, e.Conn)
	switch {
	case e.Req != nil && e.Req.Msg != nil:
		s += fmt.Sprintf(" seq=%d size=%d disconnect=%t", e.Req.Msg.GetSequenceNum(), e.Req.Size, e.Req.Msg.GetAgentDisconnect() != nil)
	case e.Req != nil:
		s += fmt.Sprintf(" undecoded size=%d", e.Req.Size)
	case e.Status != 0:
		s += fmt.Sprintf(" status=%d", e.Status)
	case e.Code != 0:
		s += fmt.Sprintf(" code=%d", e.Code)
	}
	return s
}

// Events returns the log so far, oldest first. Requests and replies in it
// are copies.
func (r *Raw) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Event, len(r.events))
	for i, e := range r.events {
		out[i] = e
		if e.Req != nil {
			req := *e.Req
			req.Msg = proto.CloneOf(e.Req.Msg)
			out[i].Req = &req
		}
	}
	return out
}

// Requests returns every message received (decoded or not), oldest first.
func (r *Raw) Requests() []Request {
	var out []Request
	for _, e := range r.Events() {
		if e.Kind == EventMessage {
			out = append(out, *e.Req)
		}
	}
	return out
}

// Count returns how many events of kind k were recorded.
func (r *Raw) Count(k EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.countLocked(k, "")
}

// countLocked counts events of kind k on transport tr (any when empty);
// callers hold r.mu.
func (r *Raw) countLocked(k EventKind, tr Transport) int {
	n := 0
	for _, e := range r.events {
		if e.Kind == k && (tr == "" || e.Transport == tr) {
			n++
		}
	}
	return n
}

// OpenConns counts the WebSocket connections open now; MaxOpenConns is the
// most that were ever open at once.
func (r *Raw) OpenConns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open
}

// MaxOpenConns is the most WebSocket connections ever open at once.
func (r *Raw) MaxOpenConns() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxOpen
}

// MaxConcurrentHTTP is the most HTTP requests ever served at once.
func (r *Raw) MaxConcurrentHTTP() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxHTTP
}

// WaitFor polls cond until it holds, failing the test with the event log
// after timeout. Call it from the test goroutine.
func (r *Raw) WaitFor(t testing.TB, timeout time.Duration, what string, cond func(r *Raw) bool) {
	t.Helper()
	if !poll(timeout, func() bool { return cond(r) }) {
		t.Fatalf("testserver: raw: %s: not within %v; events:\n%s", what, timeout, r.Log())
	}
}

// WaitRequest waits for a message satisfying cond and returns it.
func (r *Raw) WaitRequest(t testing.TB, timeout time.Duration, what string, cond func(Request) bool) Request {
	t.Helper()
	var found Request
	r.WaitFor(t, timeout, what, func(r *Raw) bool {
		for _, req := range r.Requests() {
			if req.Msg != nil && cond(req) {
				found = req
				return true
			}
		}
		return false
	})
	return found
}

// Log renders the event log, one line per event, for failure messages.
func (r *Raw) Log() string {
	var b strings.Builder
	var start time.Time
	for i, e := range r.Events() {
		if i == 0 {
			start = e.At
		}
		fmt.Fprintf(&b, "  %8.3fs %s\n", e.At.Sub(start).Seconds(), e)
	}
	return b.String()
}
