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
		depth, end := 0, -1
		for k := 1; k < len(s) && end < 0; k++ {
			switch s[k] {
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					end = k
				}
			}
		}
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
