package instanceuid

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ulidOracle decodes a ULID with math/big, independently of parseULID.
func ulidOracle(t *testing.T, s string) uuid.UUID {
	t.Helper()
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	n := new(big.Int)
	for _, c := range strings.ToUpper(s) {
		i := strings.IndexRune(alphabet, c)
		require.GreaterOrEqual(t, i, 0, "oracle: bad char %q", c)
		n.Lsh(n, 5).Or(n, big.NewInt(int64(i)))
	}
	var id uuid.UUID
	n.FillBytes(id[:])
	return id
}

func TestParseValid(t *testing.T) {
	allFF := uuid.UUID{}
	for i := range allFF {
		allFF[i] = 0xFF
	}
	tests := []struct {
		name string
		in   string
		want uuid.UUID
	}{
		{"uuid v4 canonical", "3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e", uuid.MustParse("3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e")},
		{"uuid v7 upper case", "0190E4F8-6F1E-7C3A-9D2B-5A4E3C2B1A09", uuid.MustParse("0190e4f8-6f1e-7c3a-9d2b-5a4e3c2b1a09")},
		{"uuid v1", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")},
		{"uuid no dashes", "3f2b9c1e8a474d2b9c5e1f0a2b3c4d5e", uuid.MustParse("3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e")},
		{"uuid urn", "urn:uuid:3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e", uuid.MustParse("3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e")},
		{"ulid smallest non-zero", "00000000000000000000000001", uuid.UUID{15: 1}},
		{"ulid max", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", allFF},
		// Rows checked against the math/big oracle, including a carry
		// across parseULID's 64-bit word boundary.
		{"ulid word carry", "0000000000001ZZZZZZZZZZZZZ", ulidOracle(t, "0000000000001ZZZZZZZZZZZZZ")},
		{"ulid spec example", "01ARZ3NDEKTSV4RRFFQ69G5FAV", ulidOracle(t, "01ARZ3NDEKTSV4RRFFQ69G5FAV")},
		{"ulid lower case", "01arz3ndektsv4rrffq69g5fav", ulidOracle(t, "01ARZ3NDEKTSV4RRFFQ69G5FAV")},
		{"ulid mixed", "01HZX3Q8K2M4N6P8R0T2V4W6Y8", ulidOracle(t, "01HZX3Q8K2M4N6P8R0T2V4W6Y8")},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantNil bool
		hint    string
	}{
		{name: "empty", in: "", hint: "want a UUID"},
		{name: "garbage", in: "not-a-uid", hint: "want a UUID"},
		{name: "uuid bad hex", in: "3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5g", hint: "want a UUID"},
		{name: "uuid too long", in: "3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e0", hint: "want a UUID"},
		{name: "uuid surrounding space", in: " 3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e", hint: "want a UUID"},
		{name: "ulid overflow", in: "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", hint: "overflows 128 bits"},
		{name: "ulid overflow lower", in: "zzzzzzzzzzzzzzzzzzzzzzzzzz", hint: "overflows 128 bits"},
		{name: "ulid letter U", in: "01ARZ3NDEKTSV4RRFFQ69G5FAU", hint: "character 26"},
		{name: "ulid letter I", in: "0IARZ3NDEKTSV4RRFFQ69G5FAV", hint: "character 2"},
		{name: "ulid non-ascii", in: "01ARZ3NDEKTSV4RRFFQ69G5F\xc3\xa9", hint: "not Crockford base32"},
		{name: "ulid length 25", in: "01ARZ3NDEKTSV4RRFFQ69G5FA", hint: "26-character ULID"},
		{name: "nil uuid", in: "00000000-0000-0000-0000-000000000000", wantNil: true, hint: "all-zero"},
		{name: "nil ulid", in: "00000000000000000000000000", wantNil: true, hint: "all-zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			require.ErrorIs(t, err, ErrInvalid)
			assert.Equal(t, tt.wantNil, errors.Is(err, ErrNil))
			assert.Equal(t, uuid.Nil, got)
			// The message must tell the user what was expected.
			assert.Contains(t, err.Error(), tt.hint)
		})
	}
}

func TestParseTruncatesLongInput(t *testing.T) {
	_, err := Parse(strings.Repeat("x", 10_000))
	require.ErrorIs(t, err, ErrInvalid)
	assert.Less(t, len(err.Error()), 400)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e", "01ARZ3NDEKTSV4RRFFQ69G5FAV",
		"7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "urn:uuid:3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e",
		"{3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e}", "\xff\xfe", "00000000000000000000000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			if id != uuid.Nil {
				t.Fatalf("Parse(%q) returned %v with error %v", s, id, err)
			}
			return
		}
		if id == uuid.Nil {
			t.Fatalf("Parse(%q) accepted the nil UID", s)
		}
		// Every accepted value round-trips through its canonical string.
		again, err := Parse(id.String())
		if err != nil || again != id {
			t.Fatalf("canonical %q of %q did not round-trip: %v, %v", id.String(), s, again, err)
		}
		if len(s) == 36 && !strings.EqualFold(s, id.String()) {
			t.Fatalf("canonical input %q came back as %q", s, id.String())
		}
	})
}
