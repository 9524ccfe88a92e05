package opampclient

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// dialTimeout bounds one TCP connect (the handshakes have their own bound).
const dialTimeout = 30 * time.Second

// meteredConn counts the bytes that cross a connection to the server or
// proxy: below TLS, so they are what the network carries.
type meteredConn struct {
	net.Conn
	obs Observer
}

func (m meteredConn) Read(p []byte) (int, error) {
	n, err := m.Conn.Read(p)
	if n > 0 {
		m.obs.BytesReceived(n)
	}
	return n, err
}

func (m meteredConn) Write(p []byte) (int, error) {
	n, err := m.Conn.Write(p)
	if n > 0 {
		m.obs.BytesSent(n)
	}
	return n, err
}

// dialer opens metered TCP connections for both transports.
type dialer struct {
	obs Observer
	nd  net.Dialer
}

func newDialer(obs Observer) *dialer {
	return &dialer{obs: obs, nd: net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}}
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.obs.Dialed()
	c, err := d.nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return meteredConn{Conn: c, obs: d.obs}, nil
}

// connectVia opens a tunnel to target through an http proxy with a CONNECT
// request carrying the configured headers (and basic credentials from the
// proxy URL). gorilla/websocket can tunnel too, but sends no custom header.
func (d *dialer) connectVia(ctx context.Context, proxy *url.URL, header http.Header, target string) (net.Conn, error) {
	addr := proxy.Host
	if proxy.Port() == "" {
		addr = net.JoinHostPort(proxy.Hostname(), "80")
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial proxy: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = conn.Close()
		}
	}()
	if dl, has := ctx.Deadline(); has {
		_ = conn.SetDeadline(dl)
	}
	// The exchange below does not watch ctx: when it ends (Stop), expire
	// the deadline so a silent proxy cannot hold Stop up.
	unwatch := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer unwatch()
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if u := proxy.User; u != nil && h.Get("Proxy-Authorization") == "" {
		pass, _ := u.Password()
		h.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)))
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: h}
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("proxy CONNECT: %w", err)
	}
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("proxy CONNECT: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Code: resp.StatusCode, Status: resp.Status, Proxy: true}
	}
	if br.Buffered() > 0 {
		return nil, errors.New("proxy CONNECT: the proxy sent data before the tunnel was used")
	}
	if !unwatch() {
		return nil, fmt.Errorf("proxy CONNECT: %w", context.Cause(ctx))
	}
	_ = conn.SetDeadline(time.Time{})
	ok = true
	return conn, nil
}

// StatusError is an HTTP answer that refused a request or upgrade.
type StatusError struct {
	Code   int
	Status string
	// Proxy: the proxy refused the tunnel, not the OpAMP server.
	Proxy bool
	// RetryAfter is the server's Retry-After on 429 and 503.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	who := "the OpAMP server"
	if e.Proxy {
		who = "the proxy"
	}
	msg := who + " answered " + e.Status
	switch {
	case e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden:
		msg += " (check the headers or auth extension)"
	case e.RetryAfter > 0:
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// statusError builds the error for a refused answer.
func statusError(resp *http.Response) *StatusError {
	status := resp.Status
	if status == "" {
		status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return &StatusError{Code: resp.StatusCode, Status: status, RetryAfter: retryAfter(resp)}
}
