package effectiveconfig

import "strings"

// maxQuotedName bounds how far back a quoted name is looked for from the
// ':' or '=' after it: keys are short, and the bound keeps the scan linear.
const maxQuotedName = 128

// scrubPairs redacts the values of "name=value" and "name: value" pairs
// whose name names a secret, in the shapes text carries them:
//
//   - query strings (?api_key=..&sig=..); there "key" is taken as an API key
//   - key/value DSNs and INI lines (host=h password=p, password = "p")
//   - header lines ("X-Api-Key: k"), whose value runs to the end of the line
//   - JSON and other quoted-key text ({"api_key":"k"}, {'token': 1},
//     {\"password\":\"p\"} inside another JSON string), where a value is a
//     quoted string, a bare scalar, or a whole object or array
//   - an authorization value with a scheme word (Authorization=Splunk X):
//     the scheme and the credential after it
//
// One pass, linear in len(s): every value it redacts or skips is stepped
// over, and the look back for a name stops at the previous separator or
// after maxQuotedName bytes.
func scrubPairs(s string) string {
	if !strings.ContainsAny(s, "=:") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '=' && c != ':' || (c == ':' && strings.HasPrefix(s[i+1:], "//")) {
			continue
		}
		n := pairName(s, i)
		if n.name == "" {
			continue
		}
		inQuery := !n.quoted && n.start > 0 && (s[n.start-1] == '?' || s[n.start-1] == '&')
		if !IsSecretKey(n.name) && (!inQuery || !strings.EqualFold(n.name, "key")) {
			continue
		}
		v := pairValue(s, i+1, c == ':', n)
		i = max(v.end-1, i)
		text := s[v.start:v.end]
		if text == "" || text == Placeholder || isRefOnly(text) || (n.quoted && text == "null") {
			continue
		}
		sizeCopy(&b, s)
		b.WriteString(s[last:v.start])
		if v.bare && n.quoted {
			// A JSON number or object becomes a string: the text stays JSON.
			b.WriteString(`"` + Placeholder + `"`)
		} else {
			b.WriteString(Placeholder)
		}
		last = v.end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// pairKey is the name before a ':' or '='.
type pairKey struct {
	name   string
	start  int  // index of the name's first byte (its opening quote if quoted)
	quoted bool // written in quotes, as JSON keys are
	spaced bool // blanks stood between the name and the separator
}

// pairName returns the name that ends just before the separator at sep:
// a run of name characters, or a quoted string ("api_key", 'token',
// \"password\"), with blanks allowed before the separator.
func pairName(s string, sep int) pairKey {
	j := sep
	for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	n := pairKey{spaced: j < sep}
	if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
		q := s[j-1]
		end := j - 1
		if end > 0 && s[end-1] == '\\' {
			end-- // \"name\": a JSON key inside a JSON string
		}
		lo := max(0, end-maxQuotedName)
		open := strings.LastIndexByte(s[lo:end], q)
		if open < 0 {
			return pairKey{}
		}
		open += lo
		text := s[open+1 : end]
		if strings.ContainsAny(text, "\n\r") {
			return pairKey{}
		}
		n.name, n.start, n.quoted = text, open, true
		return n
	}
	k := j
	for k > 0 && isNameChar(s[k-1]) {
		k--
	}
	n.name, n.start = s[k:j], k
	return n
}

// value is the span of a pair's value; bare when it was not in quotes.
type value struct {
	start, end int
	bare       bool
}

// pairValue returns the bounds of the value that starts at from, just
// after the separator. A ':' value (lineValue) runs to the end of the line
// unless the name was quoted; an '=' value ends at a blank or a list
// separator, or after a second word when the first is an authorization
// scheme.
func pairValue(s string, from int, lineValue bool, n pairKey) value {
	vs := from
	if lineValue || n.spaced || n.quoted {
		for vs < len(s) && (s[vs] == ' ' || s[vs] == '\t') {
			vs++
		}
	}
	if vs < len(s) {
		switch {
		case s[vs] == '"' || s[vs] == '\'':
			return quotedValue(s, vs, 1)
		case s[vs] == '\\' && vs+1 < len(s) && s[vs+1] == '"':
			return quotedValue(s, vs, 2)
		case n.quoted && (s[vs] == '{' || s[vs] == '['):
			return value{vs, balancedEnd(s, vs), true}
		}
	}
	ve := vs
	for ve < len(s) && !endsValue(s[ve], lineValue, n.quoted) {
		ve++
	}
	if !lineValue && !n.quoted && containsFold(n.name, "auth") && isSchemeWord(s[vs:ve]) {
		ve = credentialEnd(s, ve)
	}
	return value{vs, ve, true}
}

// endsValue reports whether c ends a bare value.
func endsValue(c byte, lineValue, quotedName bool) bool {
	switch {
	case c == '\n' || c == '\r':
		return true
	case quotedName:
		// JSON scalars hold no blank; a YAML one may ("hunter two").
		return c == ',' || c == '}' || c == ']' || c == ';'
	case lineValue:
		return false
	}
	return c == ' ' || c == '\t' || c == '&' || c == ';' || c == ',' || c == '"' || c == '\''
}

// quotedValue returns the inside of the string that opens at vs with a
// quote of width 1 (" or ') or 2 (\"). A backslash escapes the next byte
// inside a 1-wide double-quoted string; an unterminated string runs to
// the end of s.
func quotedValue(s string, vs, width int) value {
	q := s[vs+width-1]
	start := vs + width
	for k := start; k < len(s); k++ {
		switch {
		case width == 1 && q == '"' && s[k] == '\\':
			k++
		case width == 2 && s[k] == '\\' && k+1 < len(s) && s[k+1] == '"':
			return value{start, k, false}
		case width == 1 && s[k] == q:
			return value{start, k, false}
		}
	}
	return value{start, len(s), false}
}

// balancedEnd returns the index just after the '}' or ']' that closes the
// bracket at open, skipping quoted strings; len(s) when it is unclosed.
func balancedEnd(s string, open int) int {
	depth := 0
	for k := open; k < len(s); k++ {
		switch s[k] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return k + 1
			}
		case '"':
			k = quotedValue(s, k, 1).end
		}
	}
	return len(s)
}

// isSchemeWord reports whether w looks like an HTTP authorization scheme
// (Bearer, Basic, Splunk, SSWS, GenieKey, AWS4-HMAC-SHA256): after one the
// credential follows, separated by a blank.
func isSchemeWord(w string) bool {
	if len(w) < 2 || len(w) > 32 || !isLetter(w[0]) {
		return false
	}
	for i := 1; i < len(w); i++ {
		if !isAlnum(w[i]) && w[i] != '-' {
			return false
		}
	}
	return true
}

// credentialEnd extends a value that ends at a scheme word over the blank
// and the word after it, unless that word is the next pair (holds '=' or
// ':') or there is none.
func credentialEnd(s string, schemeEnd int) int {
	k := schemeEnd
	for k < len(s) && s[k] == ' ' {
		k++
	}
	if k == schemeEnd || k == len(s) {
		return schemeEnd
	}
	e := k
	for e < len(s) && !endsValue(s[e], false, false) {
		if s[e] == '=' || s[e] == ':' {
			return schemeEnd
		}
		e++
	}
	if e == k {
		return schemeEnd
	}
	return e
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
