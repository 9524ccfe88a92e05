package opampclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
)

// fallbackAfter is how many failed attempts in a row, on a connection not
// yet proven (switched to, or given at start with a fallback), send the
// client to the other one.
const fallbackAfter = 3

// quietWait bounds how long a try waits for the serving connection to
// finish sending, polled every quietPoll.
const (
	quietWait = 250 * time.Millisecond
	quietPoll = 2 * time.Millisecond
)

var (
	errStopped = errors.New("opampclient: the client is stopping")
	// ErrRefused: the offered server answered the probe with an error.
	ErrRefused = errors.New("the server refused the agent")
)

// handover is a probed connection waiting for the run loop: the WebSocket
// (nil on HTTP) and the server's answer to the probe.
type handover struct {
	conn  *websocket.Conn
	reply *protobufs.ServerToAgent
	// probe is what the new server has: the full state as of the try's
	// start. What changed since, the old connection may have carried; it
	// is pending again for the new one.
	probe *outgoing
}

// switching is what TryConnection and the fallback share with the run
// loop.
type switching struct {
	tryMu sync.Mutex // one try at a time

	swMu    sync.Mutex
	pending *handover
	// previous is where to go back to while the current connection is
	// unproven: no attempt on it has succeeded since the switch (or the
	// start, with Settings.Fallback).
	previous *Connection
}

// TryConnection connects to cand while the current connection keeps
// serving, and switches to it when it works: the server accepted the
// agent's full state and answered without an error, within ctx. Then cand
// is the client's connection, and the old one is closed without a goodbye
// (the agent did not leave: it moved). On any failure the current
// connection stays as it was. Should the switched-to server fail the
// next attempts before one succeeds, the client goes back to the previous
// connection by itself, and tells Handler.OnConnectionReverted.
func (c *Client) TryConnection(ctx context.Context, cand Connection) error {
	if err := CheckEndpoint(cand.URL, c.settings.HTTP); err != nil {
		return err
	}
	c.tryMu.Lock()
	defer c.tryMu.Unlock()
	if c.isStopping() {
		return errStopped
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	cn := &cand
	cn.Header = cand.Header.Clone()
	// Let the serving connection finish what it is sending (the offer's
	// APPLYING, say): the same server may be on both ends, and it must
	// see the numbers in order, and the probe carry the latest state.
	for deadline := time.Now().Add(quietWait); !c.report.quiet() && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(quietPoll)
	}
	o := c.report.fullSnapshot()
	o.otherServer = true
	var h *handover
	var err error
	if c.settings.HTTP {
		h, err = c.probeHTTP(ctx, cn, o)
	} else {
		h, err = c.probeWS(ctx, cn, o)
	}
	if err != nil {
		return err
	}
	if er := h.reply.GetErrorResponse(); er != nil {
		if h.conn != nil {
			_ = h.conn.Close()
		}
		return fmt.Errorf("%w: %s %s", ErrRefused, er.GetType(), er.GetErrorMessage())
	}
	c.logger.Info("Switching to the offered OpAMP connection", zap.String("endpoint", redacted(cn.URL)))
	c.report.consumed(o) // its sequence number is used
	h.probe = o
	c.state.setEndpoint(redacted(cn.URL))
	c.swMu.Lock()
	c.previous = c.current.Swap(cn)
	c.pending = h
	c.swMu.Unlock()
	c.gate.holdUntil.Store(0) // the old server's retry_after is not the new one's
	select {
	case c.switched <- struct{}{}:
	default:
	}
	c.closeConn() // the serving WebSocket ends; the run loop takes the handover
	if c.isStopping() {
		c.dropHandover()
		return errStopped
	}
	return nil
}

// probeWS dials cand, sends o and reads one answer, within ctx.
func (c *Client) probeWS(ctx context.Context, cn *Connection, o *outgoing) (*handover, error) {
	// A dial that ctx ends is cut, handshake included.
	var dialMu sync.Mutex
	var dialling []net.Conn
	d, err := c.wsDialer(cn, func(conn net.Conn) {
		dialMu.Lock()
		dialling = append(dialling, conn) // one per redirect hop
		dialMu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	cutDial := context.AfterFunc(ctx, func() {
		dialMu.Lock()
		defer dialMu.Unlock()
		for _, conn := range dialling {
			_ = conn.Close()
		}
	})
	conn, err := c.dialWS(ctx, d, cn)
	cutDial()
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redacted(cn.URL), err)
	}
	// Ending ctx cuts the probe's blocking write and read.
	cut := context.AfterFunc(ctx, func() { _ = conn.Close() })
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	reply, err := c.probeExchange(conn, o, deadline)
	if !cut() {
		return nil, fmt.Errorf("no answer from %s: %w", redacted(cn.URL), context.Cause(ctx))
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("no answer from %s: %w", redacted(cn.URL), err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return &handover{conn: conn, reply: reply}, nil
}

func (c *Client) probeExchange(conn *websocket.Conn, o *outgoing, deadline time.Time) (*protobufs.ServerToAgent, error) {
	if err := c.writeWS(conn, o, deadline); err != nil {
		return nil, err
	}
	c.settings.Observer.MessageSent(o.kinds)
	_ = conn.SetReadDeadline(deadline)
	data, err := c.nextWS(conn, nil)
	if err != nil {
		return nil, err
	}
	c.settings.Observer.MessageReceived()
	return decodeWS(data)
}

// probeHTTP posts o to cand and returns its answer.
func (c *Client) probeHTTP(ctx context.Context, cn *Connection, o *outgoing) (*handover, error) {
	hc, err := c.httpClient(cn)
	if err != nil {
		return nil, err
	}
	defer hc.CloseIdleConnections()
	answer, err := c.post(ctx, hc, cn, o, nil)
	if err != nil {
		return nil, fmt.Errorf("poll %s: %w", redacted(cn.URL), err)
	}
	c.settings.Observer.MessageSent(o.kinds)
	c.settings.Observer.MessageReceived()
	return &handover{reply: answer}, nil
}

// takeHandover returns the connection TryConnection switched to, once.
func (c *Client) takeHandover() (*handover, bool) {
	c.swMu.Lock()
	defer c.swMu.Unlock()
	h := c.pending
	c.pending = nil
	if h != nil {
		select {
		case <-c.switched: // its wake-up is spent
		default:
		}
	}
	return h, h != nil
}

func (c *Client) handoverPending() bool {
	c.swMu.Lock()
	defer c.swMu.Unlock()
	return c.pending != nil
}

// dropHandover closes a handed-over connection nobody will serve.
func (c *Client) dropHandover() {
	if h, ok := c.takeHandover(); ok && h.conn != nil {
		_ = h.conn.Close()
	}
}

// proven: attempts on cn lasted; if cn is still the connection in use
// (a switch may have happened meanwhile), there is no going back.
func (c *Client) proven(cn *Connection) {
	c.swMu.Lock()
	defer c.swMu.Unlock()
	if c.current.Load() == cn && c.pending == nil {
		c.previous = nil
	}
}

// fallBack swaps to the previous connection after every fallbackAfter
// failures in a row on an unproven one, and reports whether it did.
func (c *Client) fallBack(failures int) bool {
	if failures%fallbackAfter != 0 {
		return false
	}
	c.swMu.Lock()
	prev := c.previous
	if prev == nil {
		c.swMu.Unlock()
		return false
	}
	c.previous = c.current.Swap(prev)
	from := c.previous
	c.swMu.Unlock()
	c.logger.Warn("Cannot connect with the new OpAMP connection settings; going back to the previous ones",
		zap.String("from", redacted(from.URL)), zap.String("to", redacted(prev.URL)), zap.Int("failed_attempts", failures))
	if h := c.settings.Handler.OnConnectionReverted; h != nil {
		h(*from, *prev)
	}
	return true
}
