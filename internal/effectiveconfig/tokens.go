package effectiveconfig

import "strings"

// Credentials recognised by their shape alone, wherever they stand in a
// free-form value (a resource attribute, a header typed as a plain
// string): a key name says nothing there. Both passes move forward only,
// so they are linear in len(s).

// minJWTSegment is the shortest header or payload taken for a JWT's:
// `{"alg":"x"}` is already 16 characters in base64url.
const minJWTSegment = 10

// scrubJWTs redacts JSON Web Tokens: two base64url segments that each
// begin with "eyJ" (base64 of `{"`), then a third, the signature, possibly
// empty, all joined by dots and standing as a word of their own.
func scrubJWTs(s string) string {
	if !strings.Contains(s, "eyJ") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+3 <= len(s); i++ {
		if s[i] != 'e' || !strings.HasPrefix(s[i:], "eyJ") || (i > 0 && isBase64URL(s[i-1])) {
			continue
		}
		h := spanBase64URL(s, i)
		end, ok := jwtRest(s, h)
		if !ok || h-i < minJWTSegment {
			i = h - 1 // no "eyJ" inside the segment stands as a word
			continue
		}
		sizeCopy(&b, s)
		b.WriteString(s[last:i])
		b.WriteString(Placeholder)
		last, i = end, end-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// jwtRest checks ".eyJ<payload>.<signature>" at h and returns its end.
func jwtRest(s string, h int) (int, bool) {
	if h >= len(s) || s[h] != '.' || !strings.HasPrefix(s[h+1:], "eyJ") {
		return 0, false
	}
	p := spanBase64URL(s, h+1)
	if p-(h+1) < minJWTSegment || p >= len(s) || s[p] != '.' {
		return 0, false
	}
	return spanBase64URL(s, p+1), true
}

func isBase64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

func spanBase64URL(s string, i int) int {
	for i < len(s) && isBase64URL(s[i]) {
		i++
	}
	return i
}

// pemBegin and pemEnd bound a PEM block; a private key's label ends in
// "PRIVATE KEY" (RSA, EC, OPENSSH, ENCRYPTED, or none).
const (
	pemBegin   = "-----BEGIN "
	pemEnd     = "-----END "
	pemPrivate = "PRIVATE KEY"
	pemDashes  = "-----"
)

// scrubPEMKeys redacts PEM private key blocks, from their BEGIN line to
// the end of their END line, or to the end of s when the block is cut
// short. Certificates and public keys are kept.
func scrubPEMKeys(s string) string {
	if !strings.Contains(s, pemBegin) {
		return s
	}
	var b strings.Builder
	last, from := 0, 0
	for {
		i := strings.Index(s[from:], pemBegin)
		if i < 0 {
			break
		}
		i += from
		label := i + len(pemBegin)
		eol := label
		for eol < len(s) && s[eol] != '\n' && s[eol] != '-' {
			eol++
		}
		if !strings.HasSuffix(s[label:eol], pemPrivate) || !strings.HasPrefix(s[eol:], pemDashes) {
			from = label
			continue
		}
		end := len(s)
		if j := strings.Index(s[eol+len(pemDashes):], pemEnd); j >= 0 {
			end = eol + len(pemDashes) + j + len(pemEnd)
			if k := strings.Index(s[end:], pemDashes); k >= 0 {
				end += k + len(pemDashes)
			} else {
				end = len(s)
			}
		}
		sizeCopy(&b, s)
		b.WriteString(s[last:i])
		b.WriteString(Placeholder)
		last, from = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
