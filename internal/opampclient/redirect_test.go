package opampclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/testserver"
)

// redirector answers every request with status code and a Location of to.
func redirector(t *testing.T, code int, to string, tls bool) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", to)
		w.WriteHeader(code)
	})
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// postRedirected posts to url with the client's redirect policy, through
// a client that trusts srv's certificate, and returns the error.
func postRedirected(t *testing.T, srv *httptest.Server, url string) error {
	t.Helper()
	c := &Client{logger: zap.NewNop()}
	hc := srv.Client()
	hc.CheckRedirect = c.checkHTTPRedirect(&Connection{URL: url})
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("body"))
	require.NoError(t, err)
	resp, err := hc.Do(req)
	if resp != nil {
		_ = resp.Body.Close()
	}
	return err
}

// TestRedirectToAnotherServer: a client redirected to another host and
// port reaches it with the static headers but not the credentials among
// them, and with the HeaderFunc's headers made for that server's URL (an
// authenticator signs for the server reached, not the one configured).
func TestRedirectToAnotherServer(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			b := testserver.Start(t)
			target := b.HTTPURL() // a WebSocket redirect's Location is http(s) too
			a := redirector(t, http.StatusTemporaryRedirect, target, false)
			h := newHarness(strings.Replace(a.URL, "http", tr, 1) + testserver.Path)
			h.HTTP = tr == "http"
			h.Header = http.Header{"Authorization": {"Basic c3RhdGlj"}, "Cookie": {"s=1"}, "X-Static": {"kept"}}
			h.HeaderFunc = func(_ context.Context, url string, hd http.Header) http.Header {
				hd = hd.Clone()
				hd.Set("X-Signed-For", url)
				return hd
			}
			h.start(t)
			b.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.UID == h.uid() && s.Description != nil })
			hs := b.RequestHeaders()
			require.NotEmpty(t, hs)
			got := hs[0]
			assert.Equal(t, "kept", got.Get("X-Static"))
			assert.Empty(t, got.Get("Authorization"), "typed credentials stay with the configured host")
			assert.Empty(t, got.Get("Cookie"))
			want := b.WSURL()
			if tr == "http" {
				want = b.HTTPURL()
			}
			assert.Equal(t, want, got.Get("X-Signed-For"), "signed for the server reached")
			if tr == "http" {
				assert.Equal(t, "application/x-protobuf", got.Get("Content-Type"), "the message's own headers are kept")
				assert.Equal(t, h.uid(), got.Get("OpAMP-Instance-UID"))
			}
		})
	}
}

// TestHTTPRedirectRefused: the redirects a POST cannot follow safely fail
// the request, each for its own reason, and the target hears nothing.
func TestHTTPRedirectRefused(t *testing.T) {
	tests := []struct {
		name string
		code int
		tls  bool
		want error
	}{
		{"302 turns the POST into a GET", http.StatusFound, false, errRedirectDropsBody},
		{"303 turns the POST into a GET", http.StatusSeeOther, false, errRedirectDropsBody},
		{"https to http", http.StatusTemporaryRedirect, true, errRedirectDowngrade},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var heard atomic.Int32
			b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				heard.Add(1)
				w.WriteHeader(http.StatusOK)
			}))
			defer b.Close()
			a := redirector(t, tt.code, b.URL+testserver.Path, tt.tls)
			err := postRedirected(t, a, a.URL+testserver.Path)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v", err)
			assert.Zero(t, heard.Load())
		})
	}
}

// TestHTTPRedirectLoop: a server that redirects forever is given up on
// after maxRedirects hops.
func TestHTTPRedirectLoop(t *testing.T) {
	var hops atomic.Int32
	var s *httptest.Server
	s = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hops.Add(1)
		w.Header().Set("Location", s.URL+"/again")
		w.WriteHeader(http.StatusPermanentRedirect)
	}))
	defer s.Close()
	require.ErrorIs(t, postRedirected(t, s, s.URL), errTooManyRedirects)
	assert.EqualValues(t, maxRedirects+1, hops.Load(), "the first request and maxRedirects hops")
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"ws://h/v1/opamp", "ws://h/moved", true},
		{"ws://H:80/", "http://h/", true},
		{"wss://h/", "https://h:443/x", true},
		{"ws://h/", "wss://h/", false}, // ports 80 and 443
		{"ws://h:1/", "ws://h:2/", false},
		{"ws://h/", "ws://sub.h/", false},
		{"ws://h/", "%zz", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sameOrigin(tt.a, tt.b), "%s %s", tt.a, tt.b)
	}
}
