package instanceuid

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewIsV7AndUnique(t *testing.T) {
	seen := make(map[uuid.UUID]struct{})
	for range 100 {
		id, err := New()
		require.NoError(t, err)
		assert.Equal(t, uuid.Version(7), id.Version())
		assert.Equal(t, uuid.RFC4122, id.Variant())
		_, dup := seen[id]
		require.False(t, dup, "duplicate %v", id)
		seen[id] = struct{}{}
	}
}

func TestResolve(t *testing.T) {
	const (
		cfgUUID = "0190e4f8-6f1e-7c3a-9d2b-5a4e3c2b1a09"
		resUUID = "3f2b9c1e-8a47-4d2b-9c5e-1f0a2b3c4d5e"
	)
	tests := []struct {
		name       string
		configured string
		resource   string
		want       uuid.UUID // uuid.Nil: a generated v7 is expected
		wantSource string
		wantErr    bool
	}{
		{name: "config wins over resource", configured: cfgUUID, resource: resUUID, want: uuid.MustParse(cfgUUID), wantSource: SourceConfig},
		{name: "config ulid", configured: "01ARZ3NDEKTSV4RRFFQ69G5FAV", want: mustParse(t, "01ARZ3NDEKTSV4RRFFQ69G5FAV"), wantSource: SourceConfig},
		{name: "bad config is an error even with a good resource", configured: "nope", resource: resUUID, wantErr: true},
		{name: "nil config is an error", configured: uuid.Nil.String(), wantErr: true},
		{name: "resource uuid", resource: resUUID, want: uuid.MustParse(resUUID), wantSource: SourceResource},
		{name: "resource not a uuid", resource: "my-host-1", wantSource: SourceGenerated},
		{name: "resource ulid is not used", resource: "01ARZ3NDEKTSV4RRFFQ69G5FAV", wantSource: SourceGenerated},
		{name: "resource nil uuid", resource: uuid.Nil.String(), wantSource: SourceGenerated},
		{name: "nothing set", wantSource: SourceGenerated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, source, err := Resolve(tt.configured, tt.resource)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalid)
				assert.Equal(t, uuid.Nil, got)
				assert.Empty(t, source)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantSource, source)
			if tt.wantSource == SourceGenerated {
				assert.Equal(t, uuid.Version(7), got.Version())
				assert.NotEqual(t, uuid.Nil, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func mustParse(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := Parse(s)
	require.NoError(t, err)
	return id
}
