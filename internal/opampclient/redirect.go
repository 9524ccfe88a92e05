package opampclient

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// maxRedirects bounds the redirects one WebSocket dial follows.
const maxRedirects = 5

// redirectTarget is where a 3xx answer to a WebSocket upgrade points, as
// a ws or wss URL; empty when resp is no redirect, or one from wss to ws
// (a downgrade). gorilla/websocket does not follow redirects; opamp-go's
// client does, and servers behind one work with it.
func redirectTarget(resp *http.Response, from string) string {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return ""
	}
	base, err := url.Parse(from)
	if err != nil {
		return ""
	}
	loc, err := base.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return ""
	}
	switch strings.ToLower(loc.Scheme) {
	case "http", "ws":
		loc.Scheme = "ws"
	case "https", "wss":
		loc.Scheme = "wss"
	default:
		return ""
	}
	if base.Scheme == "wss" && loc.Scheme == "ws" {
		return ""
	}
	return loc.String()
}

// sameOrigin says whether two URLs name the same host and port, the only
// place credentials typed into the static headers are sent (stricter than
// net/http, which also sends them to subdomains and other ports).
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(hostPort(ua), hostPort(ub))
}

// hostPort is u's host with the scheme's default port made explicit, so
// that wss://h and https://h:443 are one origin.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// credentialHeaders are the headers net/http's client withholds from
// another host on a redirect.
var credentialHeaders = []string{"Authorization", "Www-Authenticate", "Cookie", "Cookie2"}

func dropCredentials(h http.Header) {
	for _, k := range credentialHeaders {
		h.Del(k)
	}
}

// Why an HTTP redirect is not followed.
var (
	errTooManyRedirects  = fmt.Errorf("the OpAMP server redirected the request more than %d times", maxRedirects)
	errRedirectDowngrade = errors.New("the OpAMP server redirected the request from https to http")
	errRedirectDropsBody = errors.New("the OpAMP server redirected the POST in a way that drops its body")
)

// checkHTTPRedirect is the HTTP client's redirect policy for cn: at most
// maxRedirects; never from https to http; only the redirects that keep
// the POST and its body (307 and 308: net/http turns a POST answered 301,
// 302 or 303 into a bodiless GET, which no OpAMP server answers); and
// the headers built again for the new target, as a WebSocket dial's are.
func (c *Client) checkHTTPRedirect(cn *Connection) func(req *http.Request, via []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0]
		switch {
		case len(via) > maxRedirects:
			return errTooManyRedirects
		case strings.EqualFold(first.URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https"):
			return errRedirectDowngrade
		case req.Method != first.Method:
			code := 0
			if req.Response != nil {
				code = req.Response.StatusCode
			}
			return fmt.Errorf("%w (status %d made it a %s; only 307 and 308 keep it)", errRedirectDropsBody, code, req.Method)
		}
		c.logger.Debug("The OpAMP server redirected the request", zap.String("location", redacted(req.URL.String())))
		h, err := c.headersFor(req.Context(), cn, req.URL.String())
		if err != nil {
			return err
		}
		for _, k := range messageHeaders {
			if v, ok := first.Header[k]; ok {
				h[k] = v
			}
		}
		req.Header = h
		return nil
	}
}
