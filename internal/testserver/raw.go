package testserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
)

// Raw is an OpAMP server written from the specification rather than from
// opamp-go, for conformance tests: the test decides every status code,
// header, answer, close frame and delay, and Raw records everything the
// agent did, in order, with the time. It serves WebSocket and plain HTTP on
// any path of one listener on 127.0.0.1 (a redirect may point elsewhere on
// it). Like a server following the specification it answers every message,
// refuses an HTTP body over its size limit with 413 and closes a WebSocket
// connection whose message is over it with 1009.
type Raw struct {
	ln       net.Listener
	srv      *http.Server
	upgrader websocket.Upgrader
	opts     rawOptions
	wg       sync.WaitGroup

	mu      sync.Mutex
	events  []Event
	conns   []*rawConn // every WebSocket connection, by number - 1
	open    int        // WebSocket connections open now
	maxOpen int
	httpIn  int // HTTP requests being served now
	maxHTTP int
	closing bool
}

// Request is one message from the agent as Raw received it.
type Request struct {
	Transport Transport
	// Conn numbers the WebSocket connection (from 1); for HTTP, the request.
	Conn int
	// Path is the request's (HTTP) or the upgrade's (WebSocket) URL path.
	Path   string
	Header http.Header
	// Msg is the decoded message; nil when it did not decode or was over
	// the size limit.
	Msg *protobufs.AgentToServer
	// Size is the OpAMP message's size: header included on WebSocket, the
	// body after decompression on HTTP.
	Size int
	// WSHeader is the OpAMP WebSocket header the agent sent.
	WSHeader uint64
	// Binary: the WebSocket message was a binary one.
	Binary bool
}

// Reply is the server's answer to one Request.
type Reply struct {
	// Msg is the answer; its instance_uid is the agent's when left empty.
	Msg *protobufs.ServerToAgent
	// Raw, when set, is sent as is instead of Msg: the whole WebSocket
	// message (header included) or the HTTP body.
	Raw []byte
	// Status is the HTTP status (200 when zero); 3xx, 4xx and 5xx answers
	// carry no OpAMP body unless Raw is set.
	Status int
	// Header is added to the HTTP response.
	Header http.Header
	// Silent: answer nothing (WebSocket) or an empty body (HTTP).
	Silent bool
	// Close, on WebSocket, closes the connection with this status code after
	// the answer (or instead of it, with Silent).
	Close int
	// Delay holds the answer this long.
	Delay time.Duration
}

// RawResponder decides the answer to one request.
type RawResponder func(req Request) Reply

// UpgradeFunc decides a WebSocket upgrade: status 0 accepts it; any other
// status refuses it with that status and header (a 3xx with Location
// redirects). attempt counts upgrade requests from 1.
type UpgradeFunc func(r *http.Request, attempt int) (status int, header http.Header)

// RawOption configures a Raw server.
type RawOption func(*rawOptions)

type rawOptions struct {
	responder   RawResponder
	upgrade     UpgradeFunc
	ignorePings bool
	limit       int
}

// RawWithResponder replaces the default answer (RawDefaultReply).
func RawWithResponder(r RawResponder) RawOption {
	return func(o *rawOptions) { o.responder = r }
}

// RawWithUpgrade decides every WebSocket upgrade.
func RawWithUpgrade(f UpgradeFunc) RawOption {
	return func(o *rawOptions) { o.upgrade = f }
}

// RawIgnorePings makes the server answer no WebSocket ping: a server that
// vanished without closing the connection, as the agent sees it.
func RawIgnorePings() RawOption {
	return func(o *rawOptions) { o.ignorePings = true }
}

// RawWithSizeLimit sets the largest message the server accepts
// (DefaultSizeLimit when not given).
func RawWithSizeLimit(n int) RawOption {
	return func(o *rawOptions) { o.limit = n }
}

// rawCapabilities are the capabilities a Raw server announces by default.
const rawCapabilities = uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus |
	protobufs.ServerCapabilities_ServerCapabilities_AcceptsEffectiveConfig)

// RawDefaultReply answers every message with the server's capabilities
// (accepts status and effective config) and nothing else.
func RawDefaultReply(Request) Reply {
	return Reply{Msg: &protobufs.ServerToAgent{Capabilities: rawCapabilities}}
}

// StartRaw starts a Raw server; t.Cleanup closes every connection and
// waits for the server's goroutines.
func StartRaw(t testing.TB, opts ...RawOption) *Raw {
	t.Helper()
	o := rawOptions{responder: RawDefaultReply, limit: DefaultSizeLimit}
	for _, opt := range opts {
		opt(&o)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver: raw listen: %v", err)
	}
	r := &Raw{ln: ln, opts: o, upgrader: websocket.Upgrader{EnableCompression: true}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_ = r.srv.Serve(ln)
	}()
	t.Cleanup(r.stop)
	return r
}

// Addr is the host:port the server listens on.
func (r *Raw) Addr() string { return r.ln.Addr().String() }

// WSURL is the WebSocket endpoint at Path.
func (r *Raw) WSURL() string { return "ws://" + r.Addr() + Path }

// HTTPURL is the plain-HTTP endpoint at Path.
func (r *Raw) HTTPURL() string { return "http://" + r.Addr() + Path }

// URL is the endpoint of transport tr.
func (r *Raw) URL(tr Transport) string {
	if tr == TransportHTTP {
		return r.HTTPURL()
	}
	return r.WSURL()
}

func (r *Raw) serve(w http.ResponseWriter, req *http.Request) {
	if req.Header.Get("Content-Type") == contentTypeProtobuf {
		r.serveHTTP(w, req)
		return
	}
	r.serveWS(w, req)
}

// stop closes the listener and every connection, and waits for them.
func (r *Raw) stop() {
	r.mu.Lock()
	r.closing = true
	conns := append([]*rawConn(nil), r.conns...)
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	_ = r.srv.Shutdown(ctx) // ends HTTP requests; hijacked connections stay
	for _, c := range conns {
		_ = c.ws.Close()
	}
	r.wg.Wait()
}

// record appends an event to the log.
func (r *Raw) record(e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// errNoConn: Push and CloseConn need an open WebSocket connection.
var errNoConn = errors.New("testserver: no open WebSocket connection")
