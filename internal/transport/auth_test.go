package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fakeAuth sets a fresh bearer token per request, records what it saw, and
// fails with the error returned by failWith when that is non-nil.
type fakeAuth struct {
	count    atomic.Int64
	mu       sync.Mutex
	urls     []string
	methods  []string
	failWith func() error
}

func (f *fakeAuth) authenticator() extensionauth.HTTPClient {
	return extensionauth.ClientRoundTripperFunc(func(base http.RoundTripper) (http.RoundTripper, error) {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			f.mu.Lock()
			f.urls = append(f.urls, req.URL.String())
			f.methods = append(f.methods, req.Method)
			f.mu.Unlock()
			req = req.Clone(req.Context())
			req.Header.Set("Authorization", fmt.Sprintf("Bearer token-%d", f.count.Add(1)))
			if f.failWith != nil {
				if err := f.failWith(); err != nil {
					return nil, err
				}
			}
			return base.RoundTrip(req)
		}), nil
	})
}

func (f *fakeAuth) seen() (urls, methods []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.urls...), append([]string(nil), f.methods...)
}

func TestAuthHeaderFuncSeesRealURL(t *testing.T) {
	tests := []struct {
		endpoint   string
		wantURL    string
		wantMethod string
	}{
		{endpoint: "ws://127.0.0.1:4320/v1/opamp", wantURL: "http://127.0.0.1:4320/v1/opamp", wantMethod: http.MethodGet},
		{endpoint: "wss://opamp.example.com/v1/opamp?tenant=a", wantURL: "https://opamp.example.com/v1/opamp?tenant=a", wantMethod: http.MethodGet},
		{endpoint: "http://localhost:4320/v1/opamp", wantURL: "http://localhost:4320/v1/opamp", wantMethod: http.MethodPost},
		{endpoint: "https://opamp.example.com:8443/opamp", wantURL: "https://opamp.example.com:8443/opamp", wantMethod: http.MethodPost},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			fa := &fakeAuth{}
			fn, err := NewAuthHeaderFunc(fa.authenticator(), zap.NewNop())
			require.NoError(t, err)
			fn(context.Background(), tt.endpoint, http.Header{})
			urls, methods := fa.seen()
			assert.Equal(t, []string{tt.wantURL}, urls)
			assert.Equal(t, []string{tt.wantMethod}, methods)
		})
	}
}

func TestAuthHeaderFuncFreshPerCall(t *testing.T) {
	fa := &fakeAuth{}
	fn, err := NewAuthHeaderFunc(fa.authenticator(), nil)
	require.NoError(t, err)
	const endpoint = "wss://opamp.example.com/v1/opamp"

	in := http.Header{"X-Static": {"kept"}, "Authorization": {"Bearer configured"}}
	first := fn(context.Background(), endpoint, in)
	second := fn(context.Background(), endpoint, in)
	assert.Equal(t, "Bearer token-1", first.Get("Authorization"))
	assert.Equal(t, "Bearer token-2", second.Get("Authorization"))
	assert.Equal(t, "kept", second.Get("X-Static"))
	assert.Equal(t, "Bearer configured", in.Get("Authorization"), "the input must not be mutated")

	fromNil := fn(context.Background(), endpoint, nil)
	assert.Equal(t, "Bearer token-3", fromNil.Get("Authorization"))
}

// TestAuthHeaderFuncFollowsEndpoint: the authenticator signs for the
// endpoint of each call (a connection-settings offer moves the agent), and
// an endpoint that does not parse leaves the headers as they were, with a
// warning that does not quote it.
func TestAuthHeaderFuncFollowsEndpoint(t *testing.T) {
	fa := &fakeAuth{}
	core, logs := observer.New(zapcore.WarnLevel)
	fn, err := NewAuthHeaderFunc(fa.authenticator(), zap.New(core))
	require.NoError(t, err)

	in := http.Header{"X-Static": {"kept"}}
	fn(context.Background(), "wss://a.example.com/v1/opamp", in)
	fn(context.Background(), "https://b.example.com:8443/opamp", in)
	urls, methods := fa.seen()
	assert.Equal(t, []string{"https://a.example.com/v1/opamp", "https://b.example.com:8443/opamp"}, urls)
	assert.Equal(t, []string{http.MethodGet, http.MethodPost}, methods)

	const secret = "pa55word"
	assert.Equal(t, in, fn(context.Background(), "b.example.com:"+secret, in))
	urls, _ = fa.seen()
	assert.Len(t, urls, 2, "an unparsable endpoint must not reach the authenticator")
	require.Equal(t, 1, logs.Len())
	assert.NotContains(t, fmt.Sprint(logs.All()[0].Message, logs.All()[0].ContextMap()), secret)
}

func TestAuthHeaderFuncFailureKeepsHeadersAndHidesSecrets(t *testing.T) {
	var failure atomic.Pointer[error]
	setFailure := func(err error) { failure.Store(&err) }
	fa := &fakeAuth{failWith: func() error { return *failure.Load() }}
	core, logs := observer.New(zapcore.DebugLevel)
	fn, err := NewAuthHeaderFunc(fa.authenticator(), zap.New(core))
	require.NoError(t, err)
	call := func(in http.Header) http.Header { return fn(context.Background(), "ws://127.0.0.1:4320/v1/opamp", in) }

	const secret = "static-s3cret"
	in := http.Header{"Authorization": {"Bearer " + secret}}

	setFailure(errors.New("token endpoint unavailable"))
	for range 3 {
		assert.Equal(t, in, call(in), "a failing authenticator must leave headers unchanged")
	}
	setFailure(errors.New("token endpoint returned 500"))
	call(in)
	setFailure(nil)
	assert.Equal(t, "Bearer token-5", call(in).Get("Authorization"))

	entries := logs.AllUntimed()
	levels := make([]zapcore.Level, 0, len(entries))
	for _, e := range entries {
		levels = append(levels, e.Level)
		text := e.Message + fmt.Sprint(e.ContextMap())
		assert.NotContains(t, text, secret)
		assert.NotContains(t, text, "token-", "generated credentials must not be logged")
	}
	assert.Equal(t, []zapcore.Level{zapcore.WarnLevel, zapcore.WarnLevel, zapcore.InfoLevel}, levels,
		"one warning per distinct error, then one recovery message")
}

func TestAuthHeaderFuncMisbehavingAuthenticator(t *testing.T) {
	tests := []struct {
		name string
		rt   func(base http.RoundTripper) http.RoundTripper
	}{
		{name: "answers without forwarding", rt: func(http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(req *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
			})
		}},
		{name: "replaces the request context", rt: func(base http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(req *http.Request) (*http.Response, error) {
				return base.RoundTrip(req.Clone(context.Background()))
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := extensionauth.ClientRoundTripperFunc(func(base http.RoundTripper) (http.RoundTripper, error) {
				return tt.rt(base), nil
			})
			core, logs := observer.New(zapcore.WarnLevel)
			fn, err := NewAuthHeaderFunc(auth, zap.New(core))
			require.NoError(t, err)
			in := http.Header{"X-Static": {"v"}}
			assert.Equal(t, in, fn(context.Background(), "ws://127.0.0.1:4320/v1/opamp", in))
			assert.Equal(t, 1, logs.Len())
		})
	}
}

func TestNewAuthHeaderFuncErrors(t *testing.T) {
	errBuild := errors.New("no credentials configured")
	tests := []struct {
		name    string
		auth    extensionauth.HTTPClient
		wantErr error
	}{
		{name: "nil authenticator", auth: nil},
		{name: "round tripper error", wantErr: errBuild,
			auth: extensionauth.ClientRoundTripperFunc(func(http.RoundTripper) (http.RoundTripper, error) { return nil, errBuild })},
		{name: "nil round tripper",
			auth: extensionauth.ClientRoundTripperFunc(func(http.RoundTripper) (http.RoundTripper, error) { return nil, nil })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn, err := NewAuthHeaderFunc(tt.auth, zap.NewNop())
			assert.Nil(t, fn)
			require.Error(t, err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

// TestAuthHeaderFuncConcurrent checks that concurrent calls never receive
// each other's headers.
func TestAuthHeaderFuncConcurrent(t *testing.T) {
	auth := extensionauth.ClientRoundTripperFunc(func(base http.RoundTripper) (http.RoundTripper, error) {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			req = req.Clone(req.Context())
			req.Header.Set("X-Echo", "signed:"+req.Header.Get("X-Id"))
			return base.RoundTrip(req)
		}), nil
	})
	fn, err := NewAuthHeaderFunc(auth, zap.NewNop())
	require.NoError(t, err)

	var wg sync.WaitGroup
	var mismatches atomic.Int64
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("%d-%d", g, i)
				out := fn(context.Background(), "wss://opamp.example.com/v1/opamp", http.Header{"X-Id": {id}})
				if out.Get("X-Echo") != "signed:"+id {
					mismatches.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, mismatches.Load())
}
