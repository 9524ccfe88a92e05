package effectiveconfig

import (
	"regexp"
	"strings"
)

// scrubUserinfo replaces the userinfo of every "scheme://userinfo@host" in
// s, including URLs embedded in longer text and token-only userinfo.
//
// It runs in one pass, linear in len(s) however many URLs s holds: every
// "where does the next X start" question is answered by a forward cursor
// (see nextOf) that never moves back, instead of a fresh scan to the end
// of the URL for each "://", which was quadratic on a long run of URLs
// without a stop character between them.
func scrubUserinfo(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u := urlCursors{
		stop:  nextOf{s: s, chars: urlStops},
		path:  nextOf{s: s, chars: "/?#"},
		at:    nextOf{s: s, chars: "@"},
		colon: nextOf{s: s, chars: ":"},
	}
	var b strings.Builder
	last, i := 0, 0
	for {
		idx := strings.Index(s[i:], "://")
		if idx < 0 {
			break
		}
		sep := i + idx
		start := sep + 3
		i = start
		if sep == 0 || !isSchemeChar(s[sep-1]) {
			continue
		}
		at := u.userinfoEnd(start)
		if at <= start { // none, or empty userinfo ("http://@h")
			continue
		}
		sizeCopy(&b, s)
		b.WriteString(s[last:start])
		b.WriteString(Placeholder)
		last = at
		i = last
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// urlStops end a URL embedded in text.
const urlStops = " \t\n\r\"'<>`"

// urlCursors answers, for URL starts that only move forward, where the
// URL, its authority and the candidate '@' and ':' are.
type urlCursors struct {
	stop, path, at, colon nextOf
}

// userinfoEnd returns the index in s of the '@' that ends the userinfo of
// the URL whose authority starts at start (just after "://"), or -1. A
// password that contains an unescaped '/', '?' or '#' is still found when
// the authority holds "user:" that is not a port, so that malformed URLs
// do not leak.
//
// Linear overall: the cursors only move forward, and the two backward
// scans (the last '@' of the authority, the port digits) cover text before
// the authority's end, which the next "://" (it holds a '/') cannot start
// before.
func (u *urlCursors) userinfoEnd(start int) int {
	s := u.stop.s
	end := u.stop.from(start)
	p := min(u.path.from(start), end)
	if a := u.at.from(start); a < p {
		return strings.LastIndexByte(s[start:p], '@') + start
	}
	if start < len(s) && s[start] == '[' {
		return -1 // IPv6 literal: its colons are not userinfo.
	}
	c := u.colon.from(start)
	if c >= p || (c+1 < p && allDigits(s[c+1:p])) {
		return -1
	}
	if a := u.at.from(p); a < end {
		return a
	}
	return -1
}

// nextOf finds the next byte of a set at or after a position. Asked for
// positions that never decrease, it scans each byte of s at most once: a
// position found earlier stays the answer until the question passes it.
type nextOf struct {
	s     string
	chars string
	asked int // the last position asked for
	found int // the first match at or after asked; len(s) if none
	valid bool
}

// from returns the index of the first byte of chars at or after pos, or
// len(s).
func (n *nextOf) from(pos int) int {
	if n.valid && pos >= n.asked && n.found >= pos {
		n.asked = pos
		return n.found
	}
	n.asked, n.valid = pos, true
	n.found = len(n.s)
	if pos < len(n.s) {
		if k := strings.IndexAny(n.s[pos:], n.chars); k >= 0 {
			n.found = pos + k
		}
	}
	return n.found
}

// mysqlDSN matches the userinfo of Go MySQL driver DSNs, which have no
// scheme: "user:pass@tcp(host:3306)/db".
var mysqlDSN = regexp.MustCompile(`[^\s@/(),;'"]+:[^\s@]*@(?:tcp|tcp4|tcp6|udp|unix)\(`)

func scrubMySQLDSN(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "(") {
		return s
	}
	return mysqlDSN.ReplaceAllStringFunc(s, func(m string) string {
		at := strings.LastIndexByte(m, '@')
		return Placeholder + m[at:]
	})
}
