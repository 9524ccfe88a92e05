package effectiveconfig

import "strings"

// maxScrubPasses bounds the fixed-point loop in scrubString. Each pass only
// replaces text with Placeholder, so two passes settle in practice.
const maxScrubPasses = 4

// scrubString removes secrets embedded in any string value, whatever its
// key: URL userinfo, secret-named key=value pairs (query strings, DSNs,
// header lines), "Bearer <token>" and "Basic <credentials>", JWTs and PEM
// private keys (tokens.go). The passes run
// until nothing changes, so that scrubbing is idempotent.
func scrubString(s string) string {
	for range maxScrubPasses {
		next := scrubPairs(scrubAuthSchemes(scrubMySQLDSN(scrubUserinfo(scrubJWTs(scrubPEMKeys(s))))))
		if next == s {
			return s
		}
		s = next
	}
	return s
}

// sizeCopy sizes b, before the first piece of a redacted copy of s is
// written to it, for s with one more Placeholder: the copy of a value is
// then allocated once, not grown from a few bytes by doubling.
func sizeCopy(b *strings.Builder, s string) {
	if b.Cap() == 0 {
		b.Grow(len(s) + len(Placeholder))
	}
}

// authWords are the Authorization schemes whose credential follows them
// in any text: "Bearer <token>", "Basic <base64>".
var authWords = []string{"bearer", "basic"}

// scrubAuthSchemes redacts the credential after "Bearer" and "Basic" (in
// any case, as a word of its own, followed by blanks) up to the next blank,
// quote, ',' or ';'. A credential that is already redacted or a confmap
// reference is kept, and so is one after "basic" that is not base64 ("basic
// auth"). One forward pass: linear in len(s).
func scrubAuthSchemes(s string) string {
	if !containsFold(s, "bearer") && !containsFold(s, "basic") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != 'b' && s[i] != 'B' || (i > 0 && isAlnum(s[i-1])) {
			continue
		}
		word := ""
		for _, w := range authWords {
			if hasPrefixFold(s[i:], w) {
				word = w
				break
			}
		}
		if word == "" {
			continue
		}
		cs := i + len(word)
		for cs < len(s) && isSpace(s[cs]) {
			cs++
		}
		if cs == i+len(word) {
			continue
		}
		ce := cs
		for ce < len(s) && !isSpace(s[ce]) && !strings.ContainsRune(`"',;`, rune(s[ce])) {
			ce++
		}
		if ce == cs {
			continue
		}
		i = ce - 1
		cred := s[cs:ce]
		if cred == Placeholder || isRefOnly(cred) || (word == "basic" && !looksBase64(cred)) {
			continue
		}
		sizeCopy(&b, s)
		b.WriteString(s[last:cs])
		b.WriteString(Placeholder)
		last = ce
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isSpace is the ASCII white space of RE2's \s.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func isSchemeChar(c byte) bool {
	return isAlnum(c) || c == '+' || c == '-' || c == '.'
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
		if hasPrefixFold(s[i:], word) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word,
// ignoring case.
func hasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for k := 0; k < len(word); k++ {
		c := s[k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[k] {
			return false
		}
	}
	return true
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
