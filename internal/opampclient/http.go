package opampclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

const (
	// requestTimeout bounds one poll, answer included.
	requestTimeout = time.Minute
	// Unscheduled polls (a change to report, a server asking for more) run
	// at once while tokens last: a burst of five, then one a second. A
	// server that asks for the full state in every answer gets it once a
	// second, not in a tight loop.
	sendBurst = 5
	sendRate  = time.Second
)

func (c *Client) httpClient(cn *Connection) (*http.Client, error) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           c.dialer.DialContext,
		TLSClientConfig:       cn.TLS,
		TLSHandshakeTimeout:   handshakeTimeout,
		ResponseHeaderTimeout: requestTimeout,
		MaxIdleConnsPerHost:   1,
		// Keep the connection between polls: a new connection is news
		// (see keepAliveWatch).
		IdleConnTimeout: max(90*time.Second, 2*c.settings.PollingInterval),
	}
	if cn.ProxyURL != "" {
		pu, err := url.Parse(cn.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("proxy url: %w", err)
		}
		tr.Proxy = http.ProxyURL(pu)
		tr.ProxyConnectHeader = cn.ProxyHeader
	}
	return &http.Client{Transport: tr, Timeout: requestTimeout, CheckRedirect: c.checkHTTPRedirect(cn)}, nil
}

// runHTTP polls: at once, then every polling interval, and sooner when
// there is something to report (within the token budget). A failed poll
// retries with backoff and leaves everything pending, and the next
// successful one carries the full state.
func (c *Client) runHTTP(ctx context.Context) {
	defer close(c.done)
	active := c.current.Load()
	hc, err := c.httpClient(active)
	if err != nil {
		c.logger.Error("Cannot connect to the OpAMP server", zap.Error(err))
		<-c.stopping
		return
	}
	defer func() { hc.CloseIdleConnections() }()
	c.loadEffectiveConfig(ctx)

	tokens := newTokenBucket(sendBurst, sendRate)
	var ka keepAliveWatch
	failures, unavailable := 0, 0 // failed polls, UNAVAILABLE answers in a row
	var okSince time.Time         // when polls on the active connection began to succeed
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now() // when the timer fires
	schedule := func(d time.Duration) {
		next = time.Now().Add(d)
		timer.Reset(d)
	}
	for {
		select {
		case <-c.stopping:
			c.goodbyeHTTP(hc)
			return
		case <-timer.C:
		case <-c.switched:
		case <-c.report.wake:
			if failures > 0 || !c.report.pending() {
				continue // the retry carries it; or nothing to carry
			}
			if wait := tokens.take(); wait > 0 {
				if time.Until(next) > wait {
					schedule(wait) // sooner than the poll, never later
				}
				continue
			}
		}
		if !c.gate.wait(0) {
			c.goodbyeHTTP(hc)
			return
		}
		if h, ok := c.takeHandover(); ok {
			// No poll to the old server is in flight (this goroutine makes
			// them): what they carried after the probe is pending again.
			c.report.serverHas(h.probe)
			c.process(ctx, h.reply) // the probe's answer, from the new server
		}
		if cur := c.current.Load(); cur != active {
			// TryConnection switched, or a fallback: the old server hears
			// no goodbye (the new one already has the agent).
			nhc, err := c.httpClient(cur)
			if err != nil {
				c.logger.Error("Cannot connect to the OpAMP server", zap.Error(err))
				<-c.stopping
				return
			}
			hc.CloseIdleConnections()
			hc, active = nhc, cur
			ka = keepAliveWatch{}
			c.limits.forget() // the old server's size limit
			failures, okSince = 0, time.Time{}
		}
		o := c.report.next(true)
		answer, err := c.post(ctx, hc, active, o, &ka)
		var se *StatusError
		switch {
		case errors.Is(err, errEncode) || errors.Is(err, errTooLarge):
			// Not the server's fault, and logged: no backoff, and the next
			// poll carries what can be sent.
			c.report.dropped(o)
			schedule(c.pollInterval())
			continue
		case errors.As(err, &se) && se.Code == http.StatusRequestEntityTooLarge:
			// The same request must not go again: later ones stay below
			// its size, leaving out what does not fit.
			c.limits.learn(o.size)
			// A server that closes the connection after 413 has not failed
			// over: its next connection keeps the limit learnt.
			ka.forgetReuse()
			c.logger.Warn("The OpAMP server refused a message as too large (413); later messages stay below its size",
				zap.Int("refused_size", o.size))
			schedule(backoff(1))
			continue
		case errors.Is(err, errAnswerTooLarge):
			// The exchange failed: what it carried goes again, in full.
			c.report.consumed(o)
			c.report.markFull()
			failures++
			schedule(backoff(failures))
			continue
		case err != nil:
			if c.isStopping() {
				c.goodbyeHTTP(hc)
				return
			}
			failures++
			okSince = time.Time{}
			c.state.onFailed(err)
			c.report.markFull()
			if errors.As(err, &se) && se.RetryAfter > 0 {
				c.gate.hold(se.RetryAfter)
			}
			schedule(backoff(failures))
			c.fallBack(failures)
			continue
		}
		failures = 0
		// One answered poll does not prove a connection switched to: it
		// must go on working for minStable, as a WebSocket must last.
		if okSince.IsZero() {
			okSince = time.Now()
		} else if time.Since(okSince) >= minStable {
			c.proven(active)
		}
		if c.state.onConnect() {
			c.onConnected()
		}
		if isUnavailable(answer) {
			// Refused for now: what it carried stays pending, for the poll
			// after the server's retry_after (else backoff).
			c.report.consumed(o)
			unavailable++
			wait := unavailableWait(answer.GetErrorResponse(), unavailable)
			c.process(ctx, answer)
			c.gate.hold(wait)
			schedule(wait)
			continue
		}
		unavailable = 0
		c.report.delivered(o)
		c.sent()
		c.recordDiscards(o)
		c.settings.Observer.MessageSent(o.kinds)
		if ka.replaced() {
			// The server side may have failed over to a process that knows
			// nothing of this agent, or has another size limit.
			c.logger.Debug("New connection to the OpAMP server; sending the full state")
			c.limits.forget()
			c.report.markFull()
		}
		c.process(ctx, answer)
		schedule(c.pollInterval())
	}
}

// errAnswerTooLarge: the server's answer was over max_message_size; it
// was discarded unread and the poll failed.
var errAnswerTooLarge = errors.New("the OpAMP server's answer is larger than max_message_size")

// messageHeaders are the headers post sets for the message itself, in
// canonical form; a redirected request keeps them.
var messageHeaders = []string{"Content-Encoding", "Content-Type", "Opamp-Instance-Uid"}

// post sends one message and returns the server's answer.
func (c *Client) post(ctx context.Context, hc *http.Client, cn *Connection, o *outgoing, ka *keepAliveWatch) (*protobufs.ServerToAgent, error) {
	body, err := c.encodeWithin(nil, o)
	if err != nil {
		return nil, err
	}
	header, err := c.headersFor(ctx, cn, cn.URL)
	if err != nil {
		return nil, err
	}
	if c.settings.Compression {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body) // writes to a bytes.Buffer do not fail
		_ = zw.Close()
		body = buf.Bytes()
		header.Set("Content-Encoding", "gzip")
	}
	header.Set("Content-Type", "application/x-protobuf")
	if uid, err := uuid.FromBytes(o.msg.GetInstanceUid()); err == nil {
		header.Set("OpAMP-Instance-UID", uid.String())
	}
	if ka != nil {
		ctx = httptrace.WithClientTrace(ctx, ka.trace())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cn.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, statusError(resp)
	}
	limit := int64(c.settings.MaxMessageSize)
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	// An answer too large fails the exchange (specification); one that
	// does not decode is logged and replaced by an empty one: the request
	// was delivered, polling goes on.
	if int64(len(data)) > limit {
		c.refuseLarge()
		return nil, errAnswerTooLarge
	}
	answer, err := decodeHTTP(data)
	if err != nil {
		c.logger.Warn("Ignoring an answer from the OpAMP server that does not decode", zap.Error(err))
		return &protobufs.ServerToAgent{}, nil
	}
	return answer, nil
}

// decodeHTTP decodes an answer: the protobuf alone, no header.
func decodeHTTP(data []byte) (*protobufs.ServerToAgent, error) {
	msg := &protobufs.ServerToAgent{}
	if err := proto.Unmarshal(data, msg); err != nil {
		return nil, fmt.Errorf("decode ServerToAgent: %w", err)
	}
	return msg, nil
}

// goodbyeHTTP posts a last message carrying AgentDisconnect, bounded by the
// stop deadline, so the server can forget the agent at once. It says
// goodbye only when the last poll was answered, the HTTP counterpart of an
// open WebSocket connection: a server never reached has no agent to
// forget, and one that stopped answering would most likely hold the stop
// (every shutdown and every reload) for the whole bound, for a courtesy
// its own timeout provides anyway.
func (c *Client) goodbyeHTTP(hc *http.Client) {
	if !c.state.isConnected() {
		c.logger.Debug("Not sending AgentDisconnect: the OpAMP server did not answer the last poll")
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), c.goodbyeDeadline())
	defer cancel()
	if _, err := c.post(ctx, hc, c.current.Load(), c.report.disconnect(false), nil); err != nil {
		c.logger.Debug("Could not send AgentDisconnect", zap.Error(err))
		return
	}
	c.settings.Observer.MessageSent(0)
}

// keepAliveWatch notices when a kept-alive connection to the server is
// replaced by a new one: behind a load balancer that is how a failover to
// another server process looks. A server that closes every connection
// never proves keep-alive and never triggers it.
type keepAliveWatch struct {
	reusedOnce atomic.Bool // the current run of connections was reused
	fresh      atomic.Bool // the last request opened a new connection after reuse
}

func (k *keepAliveWatch) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if info.Reused {
			k.reusedOnce.Store(true)
			return
		}
		if k.reusedOnce.Swap(false) {
			k.fresh.Store(true)
		}
	}}
}

// forgetReuse: the next new connection is no replacement.
func (k *keepAliveWatch) forgetReuse() { k.reusedOnce.Store(false) }

// replaced reports (once) that the last request used a new connection
// where a kept-alive one had been.
func (k *keepAliveWatch) replaced() bool { return k.fresh.Swap(false) }

// tokenBucket paces unscheduled sends.
type tokenBucket struct {
	tokens float64
	burst  float64
	every  time.Duration
	last   time.Time
}

func newTokenBucket(burst int, every time.Duration) *tokenBucket {
	return &tokenBucket{tokens: float64(burst), burst: float64(burst), every: every, last: time.Now()}
}

// take spends a token and returns 0, or returns how long until one is due.
func (b *tokenBucket) take() time.Duration {
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+float64(now.Sub(b.last))/float64(b.every))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(b.every))
}
