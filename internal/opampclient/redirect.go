package opampclient

import (
	"net/http"
	"net/url"
	"strings"
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

// redirectHeader is the header for the redirect's target: credentials go
// only to the host they were meant for, as net/http's client does.
func redirectHeader(h http.Header, from, to string) http.Header {
	f, err1 := url.Parse(from)
	t, err2 := url.Parse(to)
	if err1 == nil && err2 == nil && strings.EqualFold(f.Host, t.Host) {
		return h
	}
	out := h.Clone()
	for _, k := range []string{"Authorization", "Www-Authenticate", "Cookie", "Cookie2"} {
		out.Del(k)
	}
	return out
}
