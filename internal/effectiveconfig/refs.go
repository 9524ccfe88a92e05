package effectiveconfig

import "strings"

// isRefOnly reports whether s consists only of confmap references such as
// "${env:API_TOKEN}": they name where a secret comes from, not the secret.
// A reference with an inline default ("${env:X:-literal}") carries a
// literal and does not count.
func isRefOnly(s string) bool {
	if s == "" {
		return false
	}
	for s != "" {
		if !strings.HasPrefix(s, "${") {
			return false
		}
		end := matchBrace(s, 1)
		if end < 0 {
			return false
		}
		body := s[2:end]
		if body == "" || strings.Contains(body, ":-") {
			return false
		}
		s = s[end+1:]
	}
	return true
}

// matchBrace returns the index of the '}' that closes the '{' at open, or
// -1 when it is unterminated.
func matchBrace(s string, open int) int {
	depth := 0
	for k := open; k < len(s); k++ {
		switch s[k] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}

// escapedAt reports whether the "${" at i is escaped as confmap sees it:
// preceded by an odd run of '$' ("$${env:X}" is the literal "${env:X}").
func escapedAt(s string, i int) bool {
	n := 0
	for k := i - 1; k >= 0 && s[k] == '$'; k-- {
		n++
	}
	return n%2 == 1
}

// hasSecretRef reports whether s, a value as written before expansion,
// holds a confmap reference whose expansion is likely a secret: an
// environment variable with a secret name (${env:API_TOKEN},
// ${env:API_TOKEN:-default}, ${API_TOKEN} under the Collector's default
// env scheme), a file or URL whose path names a secret
// (${file:/run/secrets/api_token}), or a secret-store provider. Nested
// references are checked too, each alone and the outer one by its literal
// text, so ${env:${env:TOKEN_VAR}} and ${env:${env:P}_TOKEN} both count.
// Unterminated references are not expanded and do not count.
//
// One pass with a stack of open references: each byte goes to the text of
// the innermost one, so the cost is linear whatever the nesting.
func hasSecretRef(s string) bool {
	if !strings.Contains(s, "${") {
		return false
	}
	type ref struct {
		text   []byte
		braces int // plain '{' open inside this reference
	}
	var open []*ref
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '$' && i+1 < len(s) && s[i+1] == '{' && !escapedAt(s, i) {
			open = append(open, &ref{})
			i++
			continue
		}
		if len(open) == 0 {
			continue
		}
		top := open[len(open)-1]
		switch {
		case c == '{':
			top.braces++
		case c == '}' && top.braces > 0:
			top.braces--
		case c == '}':
			open = open[:len(open)-1]
			if refNamesSecret(string(top.text)) {
				return true
			}
			continue
		}
		top.text = append(top.text, c)
	}
	return false
}

// secretSchemes are confmap provider schemes that only serve secrets.
var secretSchemes = setOf("vault", "aes", "kms", "sops")

// refNamesSecret reports whether a reference body (the text between "${"
// and "}") names a secret. Without a scheme the Collector's default, env,
// applies. Inline YAML (${yaml:...}) names nothing.
func refNamesSecret(body string) bool {
	scheme, opaque, ok := strings.Cut(body, ":")
	if !ok {
		return IsSecretKey(strings.TrimSpace(body))
	}
	scheme = strings.ToLower(strings.TrimSpace(scheme))
	switch {
	case scheme == "env":
		name, _, _ := strings.Cut(opaque, ":-")
		return IsSecretKey(strings.TrimSpace(name))
	case scheme == "yaml":
		return false
	case secretSchemes[scheme] || strings.Contains(scheme, "secret"):
		return true
	}
	return pathNamesSecret(opaque)
}

// pathNamesSecret reports whether a file path or URL names a secret: its
// base name (with or without extension) or one of its directories does, as
// in /run/secrets/db or /var/run/secrets/.../token. A URL's host and query
// are not looked at.
func pathNamesSecret(p string) bool {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if rest, ok := strings.CutPrefix(p, "//"); ok {
		_, p, _ = strings.Cut(rest, "/")
	}
	for elem := range strings.FieldsFuncSeq(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		stem, _, _ := strings.Cut(elem, ".")
		if IsSecretKey(elem) || IsSecretKey(stem) {
			return true
		}
	}
	return false
}
