// Package instanceuid parses, generates and resolves the OpAMP instance UID
// that identifies this Collector to the OpAMP server.
package instanceuid // import "github.com/opampext/opampextension/internal/instanceuid"

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// ErrInvalid is wrapped by every error Parse returns, so callers can tell a
// bad configured value from other failures without reading error text.
var ErrInvalid = errors.New("invalid value")

// ErrNil is returned (wrapping ErrInvalid) for the all-zero UID: it means
// "unset" in OpAMP (the client ignores a server assigning it), so it is
// rejected while the config is validated.
var ErrNil = fmt.Errorf("%w: the all-zero UID is reserved", ErrInvalid)

const (
	// ulidLen is the length of a ULID in Crockford base32 (130 bits, of
	// which the top two must be zero).
	ulidLen = 26
	// expectedForms is appended to parse errors so users know what to write.
	expectedForms = "want a UUID such as 0190e4f8-6f1e-7c3a-9d2b-5a4e3c2b1a09 or a 26-character ULID"
	// maxQuoted bounds how much of a bad value is echoed in an error.
	maxQuoted = 64
)

// Parse accepts a UUID of any version (canonical form, and for
// compatibility the 32-hex, {braced} and urn:uuid: forms google/uuid also
// reads) or, for configs written for older extensions, a 26-character ULID
// whose 16 bytes become the UID. The caller prefixes the field name.
func Parse(s string) (uuid.UUID, error) {
	var (
		id  uuid.UUID
		err error
	)
	if len(s) == ulidLen {
		id, err = parseULID(s)
	} else {
		id, err = parseUUID(s)
	}
	if err != nil {
		return uuid.Nil, err
	}
	if id == uuid.Nil {
		return uuid.Nil, ErrNil
	}
	return id, nil
}

func parseUUID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%w %s: %s (%w)", ErrInvalid, quote(s), expectedForms, err)
	}
	return id, nil
}

// crockford maps an ASCII byte to its Crockford base32 value, or 0xFF.
// Lower case is accepted; the I, L, O and U letters are not part of the
// alphabet and are rejected rather than guessed.
var crockford = func() [256]byte {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var t [256]byte
	for i := range t {
		t[i] = 0xFF
	}
	for i := range len(alphabet) {
		c := alphabet[i]
		t[c] = byte(i)
		if c >= 'A' && c <= 'Z' {
			t[c+'a'-'A'] = byte(i)
		}
	}
	return t
}()

// parseULID decodes a 26-character Crockford base32 ULID into 16 bytes.
func parseULID(s string) (uuid.UUID, error) {
	// 26*5 = 130 bits; a first digit above 7 would need bit 129 or 128.
	if v := crockford[s[0]]; v != 0xFF && v > 7 {
		return uuid.Nil, fmt.Errorf("%w %s: ULID overflows 128 bits (first character must be 0-7); %s",
			ErrInvalid, quote(s), expectedForms)
	}
	var hi, lo uint64
	for i := range len(s) {
		v := crockford[s[i]]
		if v == 0xFF {
			return uuid.Nil, fmt.Errorf("%w %s: character %d is not Crockford base32; %s",
				ErrInvalid, quote(s), i+1, expectedForms)
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	var id uuid.UUID
	for i := range 8 {
		id[i] = byte(hi >> (56 - 8*i))
		id[8+i] = byte(lo >> (56 - 8*i))
	}
	return id, nil
}

// quote renders a bad value for an error message, truncating long input.
func quote(s string) string {
	if len(s) > maxQuoted {
		return fmt.Sprintf("%q...", s[:maxQuoted])
	}
	return fmt.Sprintf("%q", s)
}
