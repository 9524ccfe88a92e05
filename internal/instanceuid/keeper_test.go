package instanceuid

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/persist"
)

func TestKeeper(t *testing.T) {
	store := persist.NewMemory()
	uid := uuid.Must(uuid.NewV7())

	k := NewKeeper(store, "opamp", "")
	_, ok := k.Load()
	assert.False(t, ok, "nothing remembered yet")
	require.NoError(t, k.Save(uid))

	got, ok := NewKeeper(store, "opamp", "").Load()
	require.True(t, ok)
	assert.Equal(t, uid, got)

	_, ok = NewKeeper(store, "opamp/other", "").Load()
	assert.False(t, ok, "another component has its own uid")

	_, ok = NewKeeper(store, "opamp", "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d").Load()
	assert.False(t, ok, "a changed instance_uid in the config wins over the remembered one")

	require.NoError(t, store.Put("instance_uid/opamp", []byte("garbage")))
	_, ok = NewKeeper(store, "opamp", "").Load()
	assert.False(t, ok, "a corrupt entry is ignored")
}
