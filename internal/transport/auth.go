package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.uber.org/zap"
)

// authTimeout bounds one authenticator run: the client's HeaderFunc gets no
// context, and a hung token endpoint must not stall the connect loop forever.
const authTimeout = 30 * time.Second

var errNotForwarded = errors.New("the authenticator did not forward the request to its base transport")

// NewAuthHeaderFunc returns the client's HeaderFunc: it asks auth for
// its headers on every call, so expiring or URL-signed credentials stay
// fresh (per dial for WebSocket, per request for plain HTTP).
//
// Each call sends a request for the real server URL (ws becomes http and wss
// becomes https; the method is GET for WebSocket and POST for plain HTTP)
// through auth's RoundTripper, whose base transport records the outgoing
// headers and answers 200 without touching the network. Those headers are
// merged over the input. The request has an empty body, so authenticators
// that sign the payload cannot be supported. When auth fails the input is
// returned unchanged and the error is logged at warn level once per distinct
// message; header values are never logged. The function is safe for
// concurrent use.
func NewAuthHeaderFunc(auth extensionauth.HTTPClient, endpoint string, logger *zap.Logger) (func(http.Header) http.Header, error) {
	if auth == nil {
		return nil, errors.New("authenticator is nil")
	}
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	method := http.MethodPost
	switch u.Scheme {
	case SchemeWS:
		u.Scheme, method = SchemeHTTP, http.MethodGet
	case SchemeWSS:
		u.Scheme, method = SchemeHTTPS, http.MethodGet
	}
	rt, err := auth.RoundTripper(captureTransport{})
	if err != nil {
		return nil, fmt.Errorf("creating the authenticator's round tripper: %w", err)
	}
	if rt == nil {
		return nil, errors.New("the authenticator returned a nil round tripper")
	}
	a := &authHeaders{rt: rt, method: method, url: u.String(), redacted: u.Redacted(), logger: logger}
	return a.apply, nil
}

type authHeaders struct {
	rt       http.RoundTripper
	method   string
	url      string
	redacted string
	logger   *zap.Logger

	mu      sync.Mutex
	lastErr string // text of the last logged failure, "" while healthy
}

func (a *authHeaders) apply(in http.Header) http.Header {
	got, err := a.run(in)
	if err != nil {
		a.failed(err)
		return in
	}
	a.succeeded()
	out := in.Clone()
	if out == nil {
		out = make(http.Header, len(got))
	}
	for k, v := range got {
		out[k] = v
	}
	return out
}

func (a *authHeaders) run(in http.Header) (http.Header, error) {
	ctx, cancel := context.WithTimeout(context.Background(), authTimeout)
	defer cancel()
	slot := &capturedHeader{}
	ctx = context.WithValue(ctx, captureKey{}, slot)
	req, err := http.NewRequestWithContext(ctx, a.method, a.url, http.NoBody)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header = in.Clone()
	}
	resp, err := a.rt.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
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

func (a *authHeaders) failed(err error) {
	msg := err.Error()
	a.mu.Lock()
	changed := msg != a.lastErr
	a.lastErr = msg
	a.mu.Unlock()
	if changed {
		a.logger.Warn("OpAMP authenticator failed; connecting without its headers",
			zap.String("url", a.redacted), zap.Error(err))
	}
}

func (a *authHeaders) succeeded() {
	a.mu.Lock()
	recovered := a.lastErr != ""
	a.lastErr = ""
	a.mu.Unlock()
	if recovered {
		a.logger.Info("OpAMP authenticator recovered", zap.String("url", a.redacted))
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
