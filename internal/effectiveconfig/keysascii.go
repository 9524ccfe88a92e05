package effectiveconfig

// IsSecretKey runs for every key of every report. Splitting a key into
// lower-case word strings allocated a few times per key, a fifth of what a
// report of 600 components allocated; isSecretASCIIKey applies the same
// rules to ASCII keys (nearly all) on a stack copy, without allocating.
// TestIsSecretASCIIKeyMatches holds it to the general path.

// maxASCIIKey is the longest key isSecretASCIIKey takes.
const maxASCIIKey = 64

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isSecretASCIIKey is IsSecretKey's word rule for an ASCII key of at most
// maxASCIIKey bytes.
func isSecretASCIIKey(key string) bool {
	var lower [maxASCIIKey]byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		if isUpperASCII(c) {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	var spanBuf [maxASCIIKey/2 + 1][2]int
	words := asciiWordSpans(key, spanBuf[:0])
	if len(words) == 0 {
		return false
	}
	word := func(i int) []byte { return lower[words[i][0]:words[i][1]] }
	if metaPrefixes[string(word(0))] || metaSuffixes[string(word(len(words)-1))] {
		return false
	}
	var pair [2 * maxASCIIKey]byte
	for i := range words {
		if secretWords[string(word(i))] {
			return true
		}
		if i+1 < len(words) {
			joined := append(append(pair[:0], word(i)...), word(i+1)...)
			if secretPairs[string(joined)] {
				return true
			}
		}
	}
	return false
}

// asciiWordSpans appends the [start, end) bounds of the words splitWords
// finds in an ASCII key.
func asciiWordSpans(key string, spans [][2]int) [][2]int {
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			spans = append(spans, [2]int{start, end})
		}
		start = -1
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !isAlnum(c) {
			flush(i)
			continue
		}
		if start >= 0 && isUpperASCII(c) {
			prev := key[i-1]
			nextLower := i+1 < len(key) && isLowerASCII(key[i+1])
			if isLowerASCII(prev) || isDigitASCII(prev) || (isUpperASCII(prev) && nextLower) {
				flush(i)
			}
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(key))
	return spans
}

func isUpperASCII(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLowerASCII(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigitASCII(c byte) bool { return c >= '0' && c <= '9' }
