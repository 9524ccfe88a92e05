package effectiveconfig

import (
	"regexp"
	"strings"
)

// scrubUserinfo replaces the userinfo of every "scheme://userinfo@host" in
// s, including URLs embedded in longer text and token-only userinfo.
func scrubUserinfo(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
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
		end := start
		for end < len(s) && !isURLStop(s[end]) {
			end++
		}
		at := userinfoEnd(s[start:end])
		if at <= 0 {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(Placeholder)
		last = start + at
		i = last
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// userinfoEnd returns the index in rest (the text after "://") of the '@'
// that ends the userinfo, or -1. A password that contains an unescaped
// '/', '?' or '#' is still found when the authority holds "user:" that is
// not a port, so that malformed URLs do not leak.
func userinfoEnd(rest string) int {
	p := strings.IndexAny(rest, "/?#")
	if p < 0 {
		p = len(rest)
	}
	authority := rest[:p]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		return at
	}
	if strings.HasPrefix(authority, "[") {
		return -1 // IPv6 literal: its colons are not userinfo.
	}
	c := strings.IndexByte(authority, ':')
	if c < 0 || (c+1 < len(authority) && allDigits(authority[c+1:])) {
		return -1
	}
	at := strings.IndexByte(rest[p:], '@')
	if at < 0 {
		return -1
	}
	return p + at
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
