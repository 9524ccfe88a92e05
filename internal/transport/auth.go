package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.uber.org/zap"
)

// authTimeout bounds one authenticator run within the caller's context: a
// hung token endpoint must not stall the connect loop forever.
const authTimeout = 30 * time.Second

var (
	errNotForwarded = errors.New("the authenticator did not forward the request to its base transport")
	errStillRunning = errors.New("the authenticator has not returned from an earlier call")
)

// AuthHeaderFunc computes the headers of one dial or request to endpoint.
type AuthHeaderFunc func(ctx context.Context, endpoint string, in http.Header) http.Header

// NewAuthHeaderFunc returns the client's HeaderFunc: it asks auth for
// its headers on every call, so expiring or URL-signed credentials stay
// fresh (per dial for WebSocket, per request for plain HTTP) and follow
// the agent when a server's connection settings move it elsewhere.
//
// Each call sends a request for the real server URL, endpoint (ws becomes
// http and wss becomes https; the method is GET for WebSocket and POST for
// plain HTTP), through auth's RoundTripper, whose base transport records
// the outgoing headers and answers 200 without touching the network. Those
// headers are merged over the input. The request has an empty body, so
// authenticators that sign the payload cannot be supported. When auth
// fails the input is returned unchanged and the error is logged at warn
// level once per distinct message; header values are never logged. The
// function is safe for concurrent use.
//
// The authenticator runs under ctx, bounded by authTimeout, and the
// function returns when ctx ends or authTimeout passes even if the
// authenticator ignores its context (it is then left to finish on its own):
// so the client's Stop is never held by an authenticator. A call cut short
// by the caller's ctx returns the input unchanged and logs nothing: the
// caller is abandoning the attempt.
func NewAuthHeaderFunc(auth extensionauth.HTTPClient, logger *zap.Logger) (AuthHeaderFunc, error) {
	if auth == nil {
		return nil, errors.New("authenticator is nil")
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	rt, err := auth.RoundTripper(captureTransport{})
	if err != nil {
		return nil, fmt.Errorf("creating the authenticator's round tripper: %w", err)
	}
	if rt == nil {
		return nil, errors.New("the authenticator returned a nil round tripper")
	}
	a := &authHeaders{rt: rt, logger: logger}
	return a.apply, nil
}

// authTarget is the request an authenticator sees for a dial or request
// to one endpoint.
type authTarget struct {
	method, url, redacted string
}

func targetOf(endpoint string) (authTarget, error) {
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return authTarget{}, err
	}
	method := http.MethodPost
	switch u.Scheme {
	case SchemeWS:
		u.Scheme, method = SchemeHTTP, http.MethodGet
	case SchemeWSS:
		u.Scheme, method = SchemeHTTPS, http.MethodGet
	}
	return authTarget{method: method, url: u.String(), redacted: u.Redacted()}, nil
}

type authHeaders struct {
	rt     http.RoundTripper
	logger *zap.Logger

	// abandoned counts runs given up on whose authenticator has not
	// returned yet. While there is one, calls fail at once: a hung
	// authenticator holds one goroutine, not one per attempt.
	abandoned atomic.Int32

	mu      sync.Mutex
	lastErr string // text of the last logged failure, "" while healthy
}

func (a *authHeaders) apply(ctx context.Context, endpoint string, in http.Header) http.Header {
	target, err := targetOf(endpoint)
	if err != nil {
		a.failed(err, "(not a usable URL)") // never echo it: it may hold a password
		return in
	}
	got, err := a.run(ctx, target, in)
	if err != nil {
		if ctx.Err() == nil {
			a.failed(err, target.redacted)
		}
		return in
	}
	a.succeeded(target.redacted)
	out := in.Clone()
	if out == nil {
		out = make(http.Header, len(got))
	}
	for k, v := range got {
		out[k] = v
	}
	return out
}

// run sends the capturing request through the authenticator and returns
// the headers it forwarded. The authenticator runs on a goroutine of its
// own, so that run can return when ctx ends even if it does not.
func (a *authHeaders) run(ctx context.Context, target authTarget, in http.Header) (http.Header, error) {
	if a.abandoned.Load() > 0 {
		return nil, errStillRunning
	}
	ctx, cancel := context.WithTimeout(ctx, authTimeout)
	defer cancel()
	slot := &capturedHeader{}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, captureKey{}, slot), target.method, target.url, http.NoBody)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header = in.Clone()
	}
	done := make(chan error, 1) // buffered: an abandoned run still ends
	var settled atomic.Bool     // claimed by whichever of the two ends first
	go func() {
		resp, err := a.rt.RoundTrip(req)
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		done <- err
		if !settled.CompareAndSwap(false, true) {
			a.abandoned.Add(-1)
		}
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		if settled.CompareAndSwap(false, true) {
			a.abandoned.Add(1)
			return nil, fmt.Errorf("the authenticator did not answer: %w", ctx.Err())
		}
		err = <-done // it answered just now
	}
	if err != nil {
		return nil, err
	}
	got := slot.get()
	if got == nil {
		return nil, errNotForwarded
	}
	return got, nil
}

func (a *authHeaders) failed(err error, redacted string) {
	msg := err.Error()
	a.mu.Lock()
	changed := msg != a.lastErr
	a.lastErr = msg
	a.mu.Unlock()
	if changed {
		a.logger.Warn("OpAMP authenticator failed; connecting without its headers",
			zap.String("url", redacted), zap.Error(err))
	}
}

func (a *authHeaders) succeeded(redacted string) {
	a.mu.Lock()
	recovered := a.lastErr != ""
	a.lastErr = ""
	a.mu.Unlock()
	if recovered {
		a.logger.Info("OpAMP authenticator recovered", zap.String("url", redacted))
	}
}

// captureKey carries a per-call *capturedHeader in the request context, so
// one shared RoundTripper can serve concurrent calls without mixing them up.
type captureKey struct{}

type capturedHeader struct {
	mu sync.Mutex
	h  http.Header
}

func (c *capturedHeader) set(h http.Header) {
	c.mu.Lock()
	c.h = h
	c.mu.Unlock()
}

func (c *capturedHeader) get() http.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.h
}

// captureTransport is the authenticator's base transport: it records the
// request headers and never opens a connection.
type captureTransport struct{}

var _ http.RoundTripper = captureTransport{}

func (captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	slot, ok := req.Context().Value(captureKey{}).(*capturedHeader)
	if !ok {
		return nil, errors.New("the authenticator replaced the request context")
	}
	slot.set(req.Header.Clone())
	return &http.Response{
		Status:     "200 OK",
		StatusCode: http.StatusOK,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
		Body:       http.NoBody,
		Request:    req,
	}, nil
}
