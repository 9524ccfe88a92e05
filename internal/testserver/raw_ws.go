package testserver

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// controlWait bounds the server's control-frame writes and its wait for the
// agent's close frame after closing.
const controlWait = 2 * time.Second

// rawConn is one WebSocket connection of a Raw server.
type rawConn struct {
	n      int
	ws     *websocket.Conn
	header http.Header
	path   string
	wmu    sync.Mutex // serialises writes
	ended  bool       // guarded by Raw.mu
}

func (c *rawConn) write(mt int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(controlWait))
	return c.ws.WriteMessage(mt, data)
}

func (c *rawConn) control(mt int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteControl(mt, data, time.Now().Add(controlWait))
}

func (r *Raw) serveWS(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	attempt := 1 + r.countLocked(EventUpgrade, TransportWebSocket) + r.countLocked(EventRefused, TransportWebSocket)
	r.mu.Unlock()
	if r.opts.upgrade != nil {
		if status, h := r.opts.upgrade(req, attempt); status != 0 {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			r.record(Event{Kind: EventRefused, Transport: TransportWebSocket, Path: req.URL.Path, Header: req.Header.Clone(), Status: status})
			return
		}
	}
	ws, err := r.upgrader.Upgrade(w, req, nil)
	if err != nil {
		return // the upgrader answered the request
	}
	ws.SetReadLimit(int64(r.opts.limit))
	c := &rawConn{ws: ws, header: req.Header.Clone(), path: req.URL.Path}
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		_ = ws.Close()
		return
	}
	c.n = len(r.conns) + 1
	r.conns = append(r.conns, c)
	r.open++
	r.maxOpen = max(r.maxOpen, r.open)
	r.wg.Add(1) // under mu, before stop can wait
	r.mu.Unlock()
	defer r.wg.Done()
	r.record(Event{Kind: EventUpgrade, Transport: TransportWebSocket, Conn: c.n, Path: req.URL.Path, Header: c.header})
	ws.SetCloseHandler(func(code int, _ string) error {
		r.record(Event{Kind: EventClientClose, Transport: TransportWebSocket, Conn: c.n, Code: code})
		_ = c.control(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""))
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		r.record(Event{Kind: EventPing, Transport: TransportWebSocket, Conn: c.n})
		if r.opts.ignorePings {
			return nil
		}
		_ = c.control(websocket.PongMessage, []byte(data))
		return nil
	})
	r.readWS(c)
}

// readWS serves one connection until it ends.
func (r *Raw) readWS(c *rawConn) {
	defer func() {
		_ = c.ws.Close()
		r.mu.Lock()
		r.open--
		c.ended = true
		r.mu.Unlock()
	}()
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// gorilla sent the close frame with 1009 (Message Too Big).
				r.record(Event{Kind: EventServerClose, Transport: TransportWebSocket, Conn: c.n, Code: websocket.CloseMessageTooBig})
			}
			r.record(Event{Kind: EventEnd, Transport: TransportWebSocket, Conn: c.n, Err: err})
			return
		}
		req := Request{Transport: TransportWebSocket, Conn: c.n, Path: c.path, Header: c.header, Size: len(data), Binary: mt == websocket.BinaryMessage}
		if h, msg, err := DecodeWS(data); err == nil {
			req.WSHeader, req.Msg = h, msg
		}
		r.record(Event{Kind: EventMessage, Transport: TransportWebSocket, Conn: c.n, Req: &req})
		if req.Msg == nil {
			continue
		}
		r.answerWS(c, req, r.opts.responder(req))
	}
}

func (r *Raw) answerWS(c *rawConn, req Request, rep Reply) {
	if rep.Delay > 0 {
		time.Sleep(rep.Delay)
	}
	if !rep.Silent {
		data := rep.Raw
		if data == nil {
			msg := withUID(rep.Msg, req.Msg.GetInstanceUid())
			var err error
			if data, err = EncodeWS(0, msg); err != nil {
				return
			}
		}
		if c.write(websocket.BinaryMessage, data) == nil {
			r.record(Event{Kind: EventAnswer, Transport: TransportWebSocket, Conn: c.n, Reply: &rep})
		}
	}
	if rep.Close != 0 {
		r.closeConn(c, rep.Close)
	}
}

// closeConn sends a close frame and gives the agent a while to answer it;
// the reading loop sees the answer and ends.
func (r *Raw) closeConn(c *rawConn, code int) {
	if c.control(websocket.CloseMessage, websocket.FormatCloseMessage(code, "")) == nil {
		r.record(Event{Kind: EventServerClose, Transport: TransportWebSocket, Conn: c.n, Code: code})
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(controlWait))
}

// withUID is msg (a copy, never nil) addressed to uid unless it names one.
func withUID(msg *protobufs.ServerToAgent, uid []byte) *protobufs.ServerToAgent {
	out := &protobufs.ServerToAgent{}
	if msg != nil {
		out = proto.CloneOf(msg)
	}
	if len(out.GetInstanceUid()) == 0 {
		out.InstanceUid = uid
	}
	return out
}

// current is the newest WebSocket connection still open.
func (r *Raw) current() (*rawConn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.conns) - 1; i >= 0; i-- {
		if !r.conns[i].ended {
			return r.conns[i], nil
		}
	}
	return nil, errNoConn
}

// Push sends msg, unasked, on the newest open WebSocket connection.
func (r *Raw) Push(msg *protobufs.ServerToAgent) error {
	data, err := EncodeWS(0, msg)
	if err != nil {
		return err
	}
	return r.PushRaw(data)
}

// PushRaw sends data as one binary message on the newest open WebSocket
// connection: an OpAMP message the test framed itself.
func (r *Raw) PushRaw(data []byte) error {
	c, err := r.current()
	if err != nil {
		return err
	}
	if err := c.write(websocket.BinaryMessage, data); err != nil {
		return err
	}
	r.record(Event{Kind: EventAnswer, Transport: TransportWebSocket, Conn: c.n})
	return nil
}

// CloseConn closes the newest open WebSocket connection with code.
func (r *Raw) CloseConn(code int) error {
	c, err := r.current()
	if err != nil {
		return err
	}
	r.closeConn(c, code)
	return nil
}
