package instanceuid

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"

	"github.com/opampext/opampextension/internal/persist"
)

func TestKeeper(t *testing.T) {
	const (
		configured = "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d"
		resA       = "11111111-1111-4111-8111-111111111111"
		resB       = "22222222-2222-4222-8222-222222222222"
	)
	// prev is the instance that saved, next the one that loads.
	type inst struct {
		component, configured, resourceID string
		resourceConfigured                bool // prev only
	}
	tests := []struct {
		name           string
		prev, next     inst
		wantKept       bool
		wantPrevConfig bool
	}{
		{name: "core drew a new resource id", prev: inst{component: "opamp", resourceID: resA}, next: inst{component: "opamp", resourceID: resB}, wantKept: true},
		{name: "configured resource id unchanged", prev: inst{component: "opamp", resourceID: resA, resourceConfigured: true}, next: inst{component: "opamp", resourceID: resA}, wantKept: true, wantPrevConfig: true},
		{name: "configured resource id changed", prev: inst{component: "opamp", resourceID: resA, resourceConfigured: true}, next: inst{component: "opamp", resourceID: resB}},
		{name: "configured instance_uid changed", prev: inst{component: "opamp", resourceID: resA}, next: inst{component: "opamp", configured: configured, resourceID: resA}},
		{name: "another component", prev: inst{component: "opamp", resourceID: resA}, next: inst{component: "opamp/other", resourceID: resA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := persist.NewMemory()
			uid := uuid.Must(uuid.NewV7())
			require.NoError(t, NewKeeper(store, tt.prev.component, tt.prev.configured, tt.prev.resourceID).Save(uid, tt.prev.resourceConfigured))
			got, prevConfig, ok := NewKeeper(store, tt.next.component, tt.next.configured, tt.next.resourceID).Load()
			assert.Equal(t, tt.wantKept, ok)
			if tt.wantKept {
				assert.Equal(t, uid, got)
				assert.Equal(t, tt.wantPrevConfig, prevConfig)
			}
		})
	}
}

func TestKeeperIgnoresBadEntries(t *testing.T) {
	store := persist.NewMemory()
	k := NewKeeper(store, "opamp", "", "")
	_, _, ok := k.Load()
	assert.False(t, ok, "nothing remembered yet")
	for _, v := range []string{"garbage", "\n\nnot-a-uid", "\n\n" + uuid.Nil.String()} {
		require.NoError(t, store.Put("instance_uid.opamp", []byte(v)))
		_, _, ok = k.Load()
		assert.False(t, ok, "entry %q", v)
	}
}

func TestResourceIDConfigured(t *testing.T) {
	tests := []struct {
		name     string
		resource any
		want     bool
	}{
		{name: "no resource", want: false},
		{name: "other attributes only", resource: map[string]any{"deployment.environment": "prod"}},
		{name: "plain key", resource: map[string]any{"service.instance.id": "abc"}, want: true},
		{name: "plain key removed", resource: map[string]any{"service.instance.id": nil}},
		{name: "attributes list", resource: map[string]any{"attributes": []any{
			map[string]any{"name": "service.instance.id", "value": "abc"},
		}}, want: true},
		{name: "attributes list, other name", resource: map[string]any{"attributes": []any{
			map[string]any{"name": "host.name", "value": "abc"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			telemetry := map[string]any{"metrics": map[string]any{"level": "none"}}
			if tt.resource != nil {
				telemetry["resource"] = tt.resource
			}
			conf := confmap.NewFromStringMap(map[string]any{"service": map[string]any{"telemetry": telemetry}})
			assert.Equal(t, tt.want, ResourceIDConfigured(conf))
		})
	}
}

// TestKeeperSurvivesRestart: over a persist.Dir (storage.directory), the
// next process finds the uid, named components included.
func TestKeeperSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	for _, component := range []string{"opamp", "opamp/edge 1"} {
		first, err := persist.NewDir(dir)
		require.NoError(t, err)
		uid := uuid.Must(uuid.NewV7())
		require.NoError(t, NewKeeper(persist.NewTiered(persist.NewMemory(), first), component, "", "core-drawn-1").Save(uid, false))

		second, err := persist.NewDir(dir)
		require.NoError(t, err)
		got, _, ok := NewKeeper(persist.NewTiered(persist.NewMemory(), second), component, "", "core-drawn-2").Load()
		require.True(t, ok, component)
		assert.Equal(t, uid, got, component)
	}
}

// TestStored: the uid a keeper saved, whatever identity it was saved
// under; nothing for a missing or malformed record.
func TestStored(t *testing.T) {
	store := persist.NewMemory()
	_, ok := Stored(store, "opamp")
	assert.False(t, ok, "nothing saved yet")
	uid := uuid.MustParse("0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c70")
	require.NoError(t, NewKeeper(store, "opamp", "configured-elsewhere", "res").Save(uid, true))
	got, ok := Stored(store, "opamp")
	assert.True(t, ok)
	assert.Equal(t, uid, got)
	_, ok = Stored(store, "opamp/other")
	assert.False(t, ok, "another component's")
	require.NoError(t, store.Put(storeKey("opamp"), []byte("not a record")))
	_, ok = Stored(store, "opamp")
	assert.False(t, ok, "malformed")
}
