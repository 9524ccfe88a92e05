// Package recorder is an OpAMP server for benchmarks: a real opamp-go server
// that records the size and time of every AgentToServer message of every
// agent, answers like the Supervisor and real servers do, and can go away for
// a while and come back having forgotten every agent (a server restart).
package recorder

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server"
	"github.com/open-telemetry/opamp-go/server/types"
	"google.golang.org/protobuf/proto"
)

// Path is the URL path agents connect to.
const Path = "/v1/opamp"

// Recorder is a started recording server. Its methods are safe for
// concurrent use.
type Recorder struct {
	clock    func() time.Time
	listener *countingListener
	http     *http.Server
	served   chan struct{}

	mu         sync.Mutex
	log        []Message
	agents     map[string]*agent
	returnedAt int64 // UnixNano of the end of the last outage
	subs       []chan Message
}

// agent is what the server holds about one instance uid.
type agent struct {
	conns []*countingConn
	// known is the server's memory of the agent's state; an outage wipes
	// it, the counters survive.
	known state
	// fullAt is when known became complete, 0 until then; firstFullAt is
	// the first such time since the recorder started.
	fullAt      int64
	firstFullAt int64
}

// state is what a server needs to know about an agent.
type state struct {
	desc, config, health, healthy bool
	wantsComponents, components   bool
	componentsHash                []byte
}

func (s state) complete() bool {
	return s.desc && s.config && s.health && s.healthy && (!s.wantsComponents || s.components)
}

// Start listens on addr ("127.0.0.1:0" for a free port) and serves agents.
func Start(addr string) (*Recorder, error) {
	return start(addr, time.Now)
}

func start(addr string, clock func() time.Time) (*Recorder, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("recorder: listen on %s: %w", addr, err)
	}
	r := &Recorder{
		clock:    clock,
		listener: newCountingListener(ln, clock),
		served:   make(chan struct{}),
		agents:   map[string]*agent{},
	}
	srv := server.New(nil)
	handler, connContext, err := srv.Attach(server.Settings{Callbacks: types.Callbacks{
		OnConnecting: func(*http.Request) types.ConnectionResponse {
			return types.ConnectionResponse{Accept: true, ConnectionCallbacks: types.ConnectionCallbacks{
				OnMessage: r.onMessage,
			}}
		},
	}})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("recorder: attach the OpAMP server: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(Path, handler)
	r.http = &http.Server{Handler: mux, ConnContext: connContext, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(r.served)
		_ = r.http.Serve(r.listener)
	}()
	return r, nil
}

// Endpoint is the ws:// URL agents use.
func (r *Recorder) Endpoint() string {
	return "ws://" + r.listener.Addr().String() + Path
}

// Stop closes the listener and every connection.
func (r *Recorder) Stop(ctx context.Context) error {
	r.listener.goAway()
	err := r.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = r.http.Close()
	}
	<-r.served
	return err
}

// Outage drops every connection, turns away every attempt for d, then comes
// back with no memory of any agent, as a restarted server would. It blocks
// for d and returns when the server came back.
func (r *Recorder) Outage(d time.Duration) time.Time {
	r.listener.goAway()
	r.mu.Lock()
	for _, a := range r.agents {
		a.known = state{}
		a.fullAt = 0
	}
	r.mu.Unlock()
	time.Sleep(d)
	r.mu.Lock()
	back := r.clock()
	r.returnedAt = back.UnixNano()
	r.listener.comeBack()
	r.mu.Unlock()
	return back
}

// onMessage records msg and answers like the Supervisor (an empty message),
// asking for what a server that has forgotten the agent lacks: the full state
// when the agent is unknown, the component list when only its hash came.
func (r *Recorder) onMessage(_ context.Context, conn types.Connection, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
	now := r.clock().UnixNano()
	uid := fmt.Sprintf("%x", msg.GetInstanceUid())
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.agents[uid]
	if a == nil {
		a = &agent{}
		r.agents[uid] = a
	}
	if cc, ok := conn.Connection().(*countingConn); ok && !containsConn(a.conns, cc) {
		a.conns = append(a.conns, cc)
	}
	rec := Message{At: now, Agent: uid, Size: proto.Size(msg), Kinds: kindsOf(msg)}
	r.log = append(r.log, rec)
	for _, c := range r.subs {
		select {
		case c <- rec:
		default: // a subscriber that does not keep up misses messages
		}
	}

	known := &a.known
	if msg.GetAgentDescription() != nil {
		known.desc = true
	}
	if msg.GetEffectiveConfig() != nil {
		known.config = true
	}
	if h := msg.GetHealth(); h != nil {
		known.health, known.healthy = true, h.GetHealthy()
	}
	if caps := msg.GetCapabilities(); caps != 0 {
		known.wantsComponents = caps&uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents) != 0
	}
	if ac := msg.GetAvailableComponents(); ac != nil {
		if len(ac.GetComponents()) > 0 {
			known.components, known.componentsHash = true, ac.GetHash()
		} else if !known.components || string(known.componentsHash) != string(ac.GetHash()) {
			known.components = false
		}
	}
	if a.fullAt == 0 && known.complete() {
		a.fullAt = now
		if a.firstFullAt == 0 {
			a.firstFullAt = now
		}
	}

	reply := &protobufs.ServerToAgent{}
	if !known.desc {
		reply.Flags |= uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState)
	}
	if known.wantsComponents && !known.components && msg.GetAvailableComponents() != nil {
		reply.Flags |= uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents)
	}
	return reply
}

func containsConn(conns []*countingConn, c *countingConn) bool {
	for _, x := range conns {
		if x == c {
			return true
		}
	}
	return false
}

// Subscribe returns a channel that receives every message recorded from now
// on (up to 64 unread ones; later ones are dropped for it), for waiting
// without polling Snapshot, which holds the server's lock.
func (r *Recorder) Subscribe() <-chan Message {
	c := make(chan Message, 64)
	r.mu.Lock()
	r.subs = append(r.subs, c)
	r.mu.Unlock()
	return c
}

// FullCount reports how many agents the server holds a full state for (since
// the last outage) and how many agents it has heard from at all.
func (r *Recorder) FullCount() (full, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.agents {
		if a.fullAt != 0 {
			full++
		}
	}
	return full, len(r.agents)
}

// Incomplete describes, sorted by uid, what the server still lacks from
// each agent without a full state: for diagnosing a run that never settles.
func (r *Recorder) Incomplete() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for uid, a := range r.agents {
		if a.fullAt != 0 {
			continue
		}
		k := a.known
		var missing []string
		for _, m := range []struct {
			lacks bool
			what  string
		}{
			{!k.desc, "description"}, {!k.config, "effective config"}, {!k.health, "health"},
			{k.health && !k.healthy, "healthy=true"}, {k.wantsComponents && !k.components, "component list"},
		} {
			if m.lacks {
				missing = append(missing, m.what)
			}
		}
		out = append(out, uid+": lacks "+strings.Join(missing, ", "))
	}
	sort.Strings(out)
	return out
}
