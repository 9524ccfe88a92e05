package effectiveconfig

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// maxSimpleKey is the longest key yaml.v3 writes as "key: value"; a longer
// one gets the "? key" form.
const maxSimpleKey = 128

// appendKnownString appends s as yaml.v3 renders a string on one line, if
// s is of a kind whose rendering is known here: printable ASCII that YAML
// reads back as a string. Such a string is written plain unless plain
// text would change its meaning (a leading indicator, ": ", " #", a
// trailing blank or ':'), then in single quotes. Everything else (numbers
// and words YAML would read as another type, control or non-ASCII text,
// line breaks, a leading '-', '.', '?', ':' or blank) is left to yaml.v3:
// ok is false.
func appendKnownString(buf []byte, s string) (out []byte, ok bool) {
	if s == "" || !printableASCII(s) || !readsAsString(s) {
		return buf, false
	}
	switch {
	case strings.IndexByte("-.?: ", s[0]) >= 0:
		return buf, false
	case strings.IndexByte("#,[]{}&*!|>'\"%@`", s[0]) < 0 && plainKeepsMeaning(s):
		return append(buf, s...), true
	}
	buf = append(buf, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			buf = append(buf, '\'')
		}
		buf = append(buf, s[i])
	}
	return append(buf, '\''), true
}

// plainKeepsMeaning reports whether s, which starts with no indicator,
// reads the same unquoted in a block mapping or sequence.
func plainKeepsMeaning(s string) bool {
	last := s[len(s)-1]
	return last != ' ' && last != ':' && !strings.Contains(s, ": ") && !strings.Contains(s, " #")
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// readsAsString reports whether YAML certainly reads s, written plain, as
// a string (and not as one of the YAML 1.1 booleans or sexagesimal
// numbers yaml.v3 also quotes). False means "not sure" as well as no.
func readsAsString(s string) bool {
	c := s[0]
	switch {
	case c >= '0' && c <= '9':
		return unitOrAddress(s)
	case strings.IndexByte("+-~<.", c) >= 0:
		return false
	case strings.IndexByte("yYnNtTfFoO", c) >= 0:
		return !yamlWord(s)
	}
	return true
}

// yamlWord reports whether s is a word YAML reads as a boolean or null.
func yamlWord(s string) bool {
	switch s {
	case "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL",
		"y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return true
	}
	return false
}

// unitOrAddress reports whether s, which starts with a digit, is one of
// the shapes that cannot be a number, a timestamp or a sexagesimal: a
// digit-led word of letters, digits and dots with a letter that no number
// syntax uses ("5s", "100ms", "1.5GiB"), or digits, dots and colons with
// at least two dots ("10.0.0.1", "0.0.0.0:4317").
func unitOrAddress(s string) bool {
	var dots, colons, letters int
	otherLetter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '.':
			dots++
		case c == ':':
			colons++
		case isLetter(c):
			letters++
			// Hex digits, the 0x/0o/0b prefixes and exponents are number
			// syntax; any other letter is not.
			l := c | 0x20
			if (l < 'a' || l > 'f') && l != 'o' && l != 'x' {
				otherLetter = true
			}
		default:
			return false
		}
	}
	if letters > 0 {
		return colons == 0 && otherLetter
	}
	return dots >= 2
}

// appendFloat renders f as yaml.v3 does, with the precision of its type.
func appendFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(buf, ".inf"...)
	case math.IsInf(f, -1):
		return append(buf, "-.inf"...)
	case math.IsNaN(f):
		return append(buf, ".nan"...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bits)
}

// compareKeys orders mapping keys as yaml.v3 does: character by character,
// except that runs of digits compare by their value ("otlp/9" before
// "otlp/10") and, where one side has a letter and the other not, the
// letter goes first after a common digit and last otherwise.
func compareKeys(a, b string) int {
	var abuf, bbuf [64]rune
	ar, br := appendRunes(abuf[:0], a), appendRunes(bbuf[:0], b)
	switch {
	case runesLess(ar, br):
		return -1
	case runesLess(br, ar):
		return 1
	}
	return 0
}

func appendRunes(buf []rune, s string) []rune {
	for _, r := range s {
		buf = append(buf, r)
	}
	return buf
}

func runesLess(a, b []rune) bool {
	afterDigit := false
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			afterDigit = unicode.IsDigit(a[i])
			continue
		}
		aLetter, bLetter := unicode.IsLetter(a[i]), unicode.IsLetter(b[i])
		switch {
		case aLetter && bLetter:
			return a[i] < b[i]
		case aLetter || bLetter:
			return aLetter == afterDigit
		}
		return digitRunLess(a, b, i)
	}
	return len(a) < len(b)
}

// digitRunLess compares a and b from i, where they first differ and
// neither has a letter, by the number their digits from i spell; a
// number continued from equal non-zero digits before i counts them as 1
// on both sides, so that a zero there is not taken for a leading zero.
func digitRunLess(a, b []rune, i int) bool {
	var an, bn int64
	if a[i] == '0' || b[i] == '0' {
		for j := i - 1; j >= 0 && unicode.IsDigit(a[j]); j-- {
			if a[j] != '0' {
				an, bn = 1, 1
				break
			}
		}
	}
	ae, be := i, i
	for ; ae < len(a) && unicode.IsDigit(a[ae]); ae++ {
		an = an*10 + int64(a[ae]-'0')
	}
	for ; be < len(b) && unicode.IsDigit(b[be]); be++ {
		bn = bn*10 + int64(b[be]-'0')
	}
	if an != bn {
		return an < bn
	}
	if ae != be {
		return ae < be
	}
	return a[i] < b[i]
}
