package opampclient

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

const (
	handshakeTimeout = 30 * time.Second
	// writeTimeout bounds one message write: a server that stops reading
	// costs a reconnection, not a stuck sender.
	writeTimeout = 30 * time.Second
	// closeWait bounds the wait for the server's close frame on stop.
	closeWait = time.Second
	// closeFrameWait is how long a failed write leaves the reader to see
	// the close frame that explains it (a 1009, say).
	closeFrameWait = 100 * time.Millisecond
)

// wsWriteBuffers is shared by every connection of the process: an idle
// connection holds no write buffer.
var wsWriteBuffers = &sync.Pool{}

// errHeader: the OpAMP WebSocket header, a varint, must be 0.
var errHeader = errors.New("unsupported OpAMP WebSocket message header")

// wsDialer dials conn's server; dialled gets the connection being dialled,
// for whoever must be able to cut it: gorilla reads the handshake answer
// without watching the context.
func (c *Client) wsDialer(cn *Connection, dialled func(net.Conn)) (*websocket.Dialer, error) {
	d := &websocket.Dialer{
		NetDialContext:    c.dialer.DialContext,
		Proxy:             http.ProxyFromEnvironment,
		TLSClientConfig:   cn.TLS,
		HandshakeTimeout:  handshakeTimeout,
		EnableCompression: c.settings.Compression,
		ReadBufferSize:    1024,
		WriteBufferSize:   1024,
		WriteBufferPool:   wsWriteBuffers,
	}
	if cn.ProxyURL != "" {
		pu, err := url.Parse(cn.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("proxy url: %w", err)
		}
		d.Proxy = http.ProxyURL(pu)
		if len(cn.ProxyHeader) > 0 && pu.Scheme == "http" {
			// gorilla's own tunnel sends no custom header: open it here,
			// and let gorilla run TLS (for wss) over it.
			d.Proxy = nil
			header := cn.ProxyHeader
			d.NetDialContext = func(ctx context.Context, _, addr string) (net.Conn, error) {
				return c.dialer.connectVia(ctx, pu, header, addr)
			}
		}
	}
	base := d.NetDialContext
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := base(ctx, network, addr)
		if err == nil {
			dialled(conn)
		}
		return conn, err
	}
	return d, nil
}

// runWS connects, serves the connection until it ends, and redials:
// after a lost connection, first within the reconnect spread, then with
// backoff; every attempt also waits out the server's retry_after.
func (c *Client) runWS(ctx context.Context) {
	defer close(c.done)
	defer c.dropHandover()
	var (
		d      *websocket.Dialer
		active *Connection // the connection d dials
	)
	failures := 0
	var wait time.Duration
	first := true
	// Once connected, every redial also waits within the reconnect spread:
	// then a fleet's attempts stay under two per agent per spread however
	// long the server stays away.
	connected := false
	unavailable := 0 // UNAVAILABLE answers in a row
	// refusedBig: the last connection ended with the server refusing a
	// message as too large (1009); the limit learnt holds for the next.
	refusedBig := false
	for c.gate.wait(wait) {
		var conn *websocket.Conn
		var serving *Connection // the settings conn was opened with
		h, handedOver := c.takeHandover()
		if handedOver {
			conn, serving = h.conn, c.current.Load()
		} else {
			if cur := c.current.Load(); cur != active {
				nd, err := c.wsDialer(cur, func(conn net.Conn) { c.setConn(conn) })
				if err != nil {
					c.logger.Error("Cannot connect to the OpAMP server", zap.Error(err))
					<-c.stopping
					return
				}
				d, active = nd, cur
			}
			cut := context.AfterFunc(ctx, c.closeConn) // Stop cancels ctx
			var err error
			conn, err = c.dialWS(ctx, d, active)
			serving = active
			cut()
			if err != nil {
				if c.isStopping() {
					return
				}
				if c.handoverPending() {
					// TryConnection cut this dial: its connection waits, and
					// the old one's failures are not the new one's.
					wait, failures, unavailable = 0, 0, 0
					continue
				}
				failures++
				c.state.onFailed(err)
				var se *StatusError
				if errors.As(err, &se) && se.RetryAfter > 0 {
					c.gate.hold(se.RetryAfter)
				}
				wait = backoff(failures)
				if connected {
					wait += spread(c.settings.ReconnectSpread)
				}
				c.fallBack(failures)
				continue
			}
		}
		connected = true
		c.state.onConnect()
		if !handedOver {
			// A handed-over connection carried the probe's full state,
			// and the server's capabilities in its answer.
			c.report.forgetServer()
			if !refusedBig {
				c.limits.forget()
			}
			c.report.markFull() // HTTP needs none: its first message and every retry are full
		}
		c.onConnected()
		if handedOver {
			// The old connection has ended: what it carried after the probe
			// is pending again, and its server's size limit is not this one's.
			c.report.serverHas(h.probe)
			c.limits.forget()
			c.process(ctx, h.reply) // the probe's answer, from the new server
			// What changed while the switch was made (the offer's status)
			// may have woken the old connection's sender, whose write then
			// failed: it is still pending, for this connection.
			c.report.signal()
		}
		if first {
			c.loadEffectiveConfig(ctx)
			first = false
		}
		began := time.Now()
		err := c.serveWS(ctx, conn)
		if c.isStopping() {
			return
		}
		if c.handoverPending() {
			// TryConnection switched: the next connection is waiting, with
			// a count of failures of its own.
			wait, failures, unavailable = 0, 0, 0
			continue
		}
		if time.Since(began) >= minStable {
			c.proven(serving) // no going back to a previous connection
		}
		c.state.onLost(err)
		refusedBig = isTooBigClose(err)
		var ue *unavailableError
		if errors.As(err, &ue) {
			// The server asked for a pause: its retry_after, else backoff.
			unavailable++
			wait = unavailableWait(ue.answer, unavailable)
			continue
		}
		wait = spread(c.settings.ReconnectSpread)
		if time.Since(began) < minStable {
			// A server that accepts and drops at once gets backoff, not
			// a redial loop.
			failures++
			wait += backoff(failures)
			c.fallBack(failures)
		} else {
			failures, unavailable = 0, 0
		}
	}
}

// unavailableError ends a connection the server answered UNAVAILABLE on.
type unavailableError struct {
	answer *protobufs.ServerErrorResponse
}

func (e *unavailableError) Error() string {
	return "the OpAMP server is unavailable: " + e.answer.GetErrorMessage()
}

// errInboundTooLarge ends a connection on which the server sent a message
// over the size limit.
var errInboundTooLarge = errors.New("the OpAMP server sent a message larger than max_message_size")

// minStable is how long a connection must last for its loss to be a
// reconnection rather than one more failed attempt.
const minStable = 2 * time.Second

func (c *Client) dialWS(ctx context.Context, d *websocket.Dialer, cn *Connection) (*websocket.Conn, error) {
	target := cn.URL
	for hops := 0; ; hops++ {
		header, err := c.headersFor(ctx, cn, target)
		if err != nil {
			return nil, err
		}
		conn, resp, err := d.DialContext(ctx, target, header)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err == nil {
			return conn, nil
		}
		if resp == nil || !errors.Is(err, websocket.ErrBadHandshake) {
			return nil, err
		}
		next := redirectTarget(resp, target)
		if next == "" || hops == maxRedirects {
			return nil, statusError(resp)
		}
		c.logger.Debug("The OpAMP server redirected the connection", zap.String("location", redacted(next)))
		target = next
	}
}

// serveWS runs one connection: a reading goroutine hands server messages
// to process; this goroutine writes what is pending, the heartbeats and
// the keep-alive pings.
func (c *Client) serveWS(ctx context.Context, conn *websocket.Conn) error {
	c.setConn(conn)
	defer c.setConn(nil)
	var lastRead atomic.Int64 // unix nanoseconds of the last frame read
	lastRead.Store(time.Now().UnixNano())
	conn.SetPongHandler(func(string) error {
		lastRead.Store(time.Now().UnixNano())
		return nil
	})
	c.unavailable.Store(nil) // from the previous connection
	readErr := make(chan error, 1)
	go func() { readErr <- c.readWS(ctx, conn, &lastRead) }()
	// finish closes the connection and returns why it ended: err, or what
	// ended the reading.
	finish := func(err error) error {
		_ = conn.Close()
		if rerr := <-readErr; err == nil {
			err = rerr
		}
		return err
	}

	// One timer serves the heartbeat and the keep-alive: an idle agent's
	// writer wakes once a heartbeat (see keepAlive.due).
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var armed time.Time
	ka := newKeepAlive(&lastRead, c.settings.KeepAliveIdle, c.settings.PongWait)
	lastWrite := time.Now()
	// sent: a message went on this connection; largest: the largest one,
	// which a server closing with 1009 refused.
	sent, largest := false, 0
	// leave is the client's side of closing, for a reconnection: the goodbye
	// and a close frame with code, within closeWait.
	leave := func(code int, readerDone bool) {
		c.leaveWS(conn, c.report.disconnect(!sent), code, time.Now().Add(closeWait), readErr, readerDone)
	}
	for {
		d := time.Duration(c.heartbeat.Load())
		var heartbeatAt time.Time
		if d > 0 {
			heartbeatAt = lastWrite.Add(d)
		}
		if at := ka.due(heartbeatAt); !at.Equal(armed) {
			timer.Reset(time.Until(at))
			armed = at
		}
		var o *outgoing
		select {
		case <-c.stopping:
			c.leaveWS(conn, c.report.disconnect(!sent), websocket.CloseNormalClosure, c.goodbyeDeadline(), readErr, false)
			return finish(nil)
		case err := <-readErr:
			if errors.Is(err, errInboundTooLarge) {
				leave(websocket.CloseMessageTooBig, true)
			}
			c.learnFromClose(err, largest)
			readErr <- err // for finish
			return finish(err)
		case <-timer.C:
			armed = time.Time{}
			now := time.Now()
			heartbeatDue := d > 0 && !now.Before(heartbeatAt)
			if err := ka.check(conn, now, heartbeatDue); err != nil {
				if errors.Is(err, errNoPong) {
					// The connection may still take a write: say goodbye
					// before redialling, as the specification asks.
					leave(websocket.CloseNormalClosure, false)
				}
				return finish(err)
			}
			if !heartbeatDue {
				continue
			}
			o = c.report.next(true)
		case <-c.report.wake:
			if er := c.unavailable.Swap(nil); er != nil {
				leave(websocket.CloseNormalClosure, false)
				return finish(&unavailableError{answer: er})
			}
			o = c.report.next(false)
		}
		if o == nil {
			continue
		}
		// Taken before the write: an answer to the message always comes
		// after it (the keep-alive relies on that).
		writing := time.Now()
		err := c.writeWS(conn, o, writing.Add(writeTimeout))
		// A message the server refuses may fail its own write: its size
		// (known once encoded) counts as tried, so the limit learnt from a
		// 1009 is its size, not that of a smaller one before it (which
		// would silence the agent).
		tried := max(largest, o.size)
		if err != nil {
			if !errors.Is(err, errEncode) && !errors.Is(err, errTooLarge) {
				if rerr := c.closeReason(readErr); isTooBigClose(rerr) {
					c.learnFromClose(rerr, tried)
					return finish(rerr)
				}
				return finish(err)
			}
			// Not the connection's fault, and logged: redialling would not
			// help and sending it again would fail the same way.
			c.report.dropped(o)
			continue
		}
		lastWrite, sent, largest = writing, true, tried
		ka.wrote(writing)
		c.report.delivered(o)
		c.sent()
		c.recordDiscards(o)
		c.settings.Observer.MessageSent(o.kinds)
	}
}

// closeReason gives the reader a moment to report why the server closed
// the connection a write just failed on (the close frame may still be in
// flight); what it reports stays in readErr for finish.
func (c *Client) closeReason(readErr chan error) error {
	select {
	case rerr := <-readErr:
		readErr <- rerr
		return rerr
	case <-time.After(closeFrameWait):
		return nil
	}
}

// isTooBigClose: the server closed the connection with 1009 (Message Too
// Big).
func isTooBigClose(err error) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && ce.Code == websocket.CloseMessageTooBig
}

// learnFromClose: a server that closed with 1009 refused a message for
// its size, the largest sent on the connection; later ones stay below it.
func (c *Client) learnFromClose(err error, largest int) {
	if largest > 0 && isTooBigClose(err) {
		c.limits.learn(largest)
		c.logger.Warn("The OpAMP server refused a message as too large (1009); later messages stay below its size",
			zap.Int("refused_size", largest))
	}
}

// leaveWS is the client's side of closing a connection: AgentDisconnect
// (o), then a close frame with code, then a wait until deadline (closeWait
// at most) for the server's close frame, so the server forgets the agent
// at once. With readerDone the reading goroutine has ended and the wait
// reads here.
func (c *Client) leaveWS(conn *websocket.Conn, o *outgoing, code int, deadline time.Time, readErr chan error, readerDone bool) {
	if err := c.writeWS(conn, o, deadline); err != nil {
		c.logger.Debug("Could not send AgentDisconnect", zap.Error(err))
		return
	}
	c.report.consumed(o)
	c.settings.Observer.MessageSent(0)
	msg := websocket.FormatCloseMessage(code, "")
	if err := conn.WriteControl(websocket.CloseMessage, msg, deadline); err != nil {
		return
	}
	wait := min(closeWait, time.Until(deadline))
	if readerDone {
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-readErr:
		readErr <- err
	case <-t.C:
	}
}

// writeWS writes one message: the OpAMP header (varint 0), then the
// protobuf, within the send limit.
func (c *Client) writeWS(conn *websocket.Conn, o *outgoing, deadline time.Time) error {
	data, err := c.encodeWithin([]byte{0}, o)
	if err != nil {
		return err
	}
	if err := conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	if err := conn.WriteMessage(websocket.BinaryMessage, data); err != nil {
		return err
	}
	clearWriteDeadline(conn)
	return nil
}

// readWS reads server messages until the connection ends. A message over
// the size limit is malformed: it is refused unread and ends the
// connection (serveWS closes it with 1009); a message that does not decode
// is logged and skipped.
func (c *Client) readWS(ctx context.Context, conn *websocket.Conn, lastRead *atomic.Int64) error {
	for {
		data, err := c.nextWS(conn, lastRead)
		if err != nil {
			return err
		}
		msg, err := decodeWS(data)
		if err != nil {
			c.logger.Warn("Ignoring a message from the OpAMP server that does not decode", zap.Error(err))
			continue
		}
		c.process(ctx, msg)
	}
}

// nextWS reads the next binary message within the size limit (a larger one
// is refused unread: errInboundTooLarge), skipping other frames; lastRead,
// when set, learns of every frame.
func (c *Client) nextWS(conn *websocket.Conn, lastRead *atomic.Int64) ([]byte, error) {
	limit := int64(c.settings.MaxMessageSize) + binary.MaxVarintLen64
	for {
		mt, r, err := conn.NextReader()
		if err != nil {
			return nil, err
		}
		if lastRead != nil {
			lastRead.Store(time.Now().UnixNano())
		}
		if mt != websocket.BinaryMessage {
			c.logger.Debug("Ignoring a non-binary WebSocket message from the OpAMP server")
			continue
		}
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > limit {
			c.refuseLarge()
			return nil, errInboundTooLarge
		}
		return data, nil
	}
}

func decodeWS(data []byte) (*protobufs.ServerToAgent, error) {
	header, n := binary.Uvarint(data)
	if n <= 0 {
		return nil, errHeader
	}
	if header != 0 {
		return nil, fmt.Errorf("%w %d", errHeader, header)
	}
	msg := &protobufs.ServerToAgent{}
	if err := proto.Unmarshal(data[n:], msg); err != nil {
		return nil, fmt.Errorf("decode ServerToAgent: %w", err)
	}
	return msg, nil
}

// refuseLarge logs a server message dropped for its size.
func (c *Client) refuseLarge() {
	c.logger.Warn("Refused a message from the OpAMP server larger than the size limit; it was discarded unread",
		zap.Int("max_message_size", c.settings.MaxMessageSize))
}
