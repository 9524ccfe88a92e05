package effectiveconfig

import (
	"regexp"
	"strings"
)

// maxScrubPasses bounds the fixed-point loop in scrubString. Each pass only
// replaces text with Placeholder, so two passes settle in practice.
const maxScrubPasses = 4

// scrubString removes secrets embedded in any string value, whatever its
// key: URL userinfo, secret-named key=value pairs (query strings, DSNs,
// header lines), "Bearer <token>" and "Basic <credentials>". The passes run
// until nothing changes, so that scrubbing is idempotent.
func scrubString(s string) string {
	for range maxScrubPasses {
		next := scrubPairs(scrubAuthSchemes(scrubMySQLDSN(scrubUserinfo(s))))
		if next == s {
			return s
		}
		s = next
	}
	return s
}

// authSchemes matches "Bearer <token>" and "Basic <base64>" as written in
// Authorization header values.
var authSchemes = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9])(bearer\s+|basic\s+)([^\s"',;]+)`)

func scrubAuthSchemes(s string) string {
	if !containsFold(s, "bearer") && !containsFold(s, "basic") {
		return s
	}
	return authSchemes.ReplaceAllStringFunc(s, func(m string) string {
		sub := authSchemes.FindStringSubmatch(m)
		cred := sub[3]
		isBasic := strings.EqualFold(strings.TrimSpace(sub[2]), "basic")
		if cred == Placeholder || isRefOnly(cred) || (isBasic && !looksBase64(cred)) {
			return m
		}
		return sub[1] + sub[2] + Placeholder
	})
}

// scrubPairs redacts the values of "name=value" and "name: value" pairs
// whose name names a secret: query strings (?api_key=..&sig=..), key/value
// DSNs (host=h password=p), header lines ("X-Api-Key: k"). An '=' value
// ends at whitespace, '&', ';' or ','; a quoted value at its closing
// quote; a ':' value at the end of the line. In a query string, "key" is
// taken as an API key.
func scrubPairs(s string) string {
	if !strings.ContainsAny(s, "=:") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '=' && c != ':' {
			continue
		}
		j := i
		for j > 0 && isNameChar(s[j-1]) {
			j--
		}
		name := s[j:i]
		if name == "" || (c == ':' && strings.HasPrefix(s[i+1:], "//")) {
			continue
		}
		inQuery := j > 0 && (s[j-1] == '?' || s[j-1] == '&')
		if !IsSecretKey(name) && (!inQuery || !strings.EqualFold(name, "key")) {
			continue
		}
		vs, ve := pairValue(s, i+1, c == ':')
		i = max(ve-1, i)
		v := s[vs:ve]
		if v == "" || v == Placeholder || isRefOnly(v) {
			continue
		}
		b.WriteString(s[last:vs])
		b.WriteString(Placeholder)
		last = ve
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// pairValue returns the bounds of the value that starts at from.
func pairValue(s string, from int, lineValue bool) (int, int) {
	vs := from
	if lineValue {
		for vs < len(s) && (s[vs] == ' ' || s[vs] == '\t') {
			vs++
		}
	}
	if vs < len(s) && (s[vs] == '"' || s[vs] == '\'') {
		closing := strings.IndexByte(s[vs+1:], s[vs])
		if closing < 0 {
			return vs + 1, len(s)
		}
		return vs + 1, vs + 1 + closing
	}
	ve := vs
	for ve < len(s) {
		ch := s[ve]
		if ch == '\n' || ch == '\r' {
			break
		}
		if !lineValue && (ch == ' ' || ch == '\t' || ch == '&' || ch == ';' || ch == ',' || ch == '"' || ch == '\'') {
			break
		}
		ve++
	}
	return vs, ve
}

func isSchemeChar(c byte) bool {
	return isAlnum(c) || c == '+' || c == '-' || c == '.'
}

func isURLStop(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '`':
		return true
	}
	return false
}

func isNameChar(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.'
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// containsFold reports whether s contains the lower-case ASCII word,
// ignoring case, without allocating.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		match := true
		for k := 0; k < len(word); k++ {
			c := s[i+k]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != word[k] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func looksBase64(s string) bool {
	if len(s) < 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '+' && c != '/' && c != '=' {
			return false
		}
	}
	return true
}
