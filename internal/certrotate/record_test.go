package certrotate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/persist"
)

func TestStoreKey(t *testing.T) {
	dir, err := persist.NewDir(t.TempDir())
	require.NoError(t, err)
	for id, want := range map[string]string{
		"opamp":       "certificate_key.opamp",
		"opamp/edge":  "certificate_key.opamp_edge",
		"opamp/a b:c": "certificate_key.opamp_a_b_c",
		"":            "certificate_key.",
	} {
		got := StoreKey(id)
		assert.Equal(t, want, got)
		require.NoError(t, dir.Put(got, []byte("x")), "persist.Dir refuses %q", got)
	}
}

// fileMode is the permission bits of the state file of component "opamp".
func fileMode(t *testing.T, dir string) os.FileMode {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, StoreKey("opamp")))
	require.NoError(t, err)
	return st.Mode().Perm()
}

func TestStateRoundTripThroughTheStateDirectory(t *testing.T) {
	path := t.TempDir()
	dir, err := persist.NewDir(path)
	require.NoError(t, err)
	ca, c := newCA(t), newClock()

	r := newRotator(t, dir, c)
	req := request(t, r, nil)
	assert.Equal(t, os.FileMode(0o600), fileMode(t, path), "the pending key's file")

	certPEM, keyPEM, err := r.Complete(ca.sign(t, req, certOpts{}))
	require.NoError(t, err)
	require.NoError(t, r.Applied())
	assert.Equal(t, os.FileMode(0o600), fileMode(t, path), "the accepted key's file")

	again := newRotator(t, dir, c)
	gotCert, gotKey, ok := again.Accepted()
	require.True(t, ok, "the accepted key did not survive the restart")
	assert.Equal(t, certPEM, gotCert)
	assert.Equal(t, keyPEM, gotKey)
	assert.False(t, again.Pending())
	k, ok := again.Key(parseCert(t, certPEM).PublicKey)
	require.True(t, ok)
	assert.Equal(t, parseCSR(t, req).PublicKey, k.Public())
}

func TestStoredStateThatDoesNotDecodeIsAnError(t *testing.T) {
	const secretish = "MHcCAQEEIsecret"
	for _, tc := range []struct {
		name, value string
		want        error
	}{
		{"not JSON", secretish, errBadRecord},
		{"another version", `{"version":9,"pending_key":"` + secretish + `"}`, errBadRecord},
		{"a pending key that does not decode", `{"version":1,"pending_key":"` + secretish + `"}`, errBadKeyPEM},
		{"an accepted key that does not decode", `{"version":1,"accepted_key":"` + secretish + `"}`, errBadKeyPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := persist.NewMemory()
			require.NoError(t, store.Put(StoreKey("opamp"), []byte(tc.value)))
			_, err := New(Settings{Identity: testID, ComponentID: "opamp", Store: store})
			require.ErrorIs(t, err, tc.want)
			assert.False(t, strings.Contains(err.Error(), secretish), "the error quotes the stored bytes: %v", err)
		})
	}
}

func TestEmptyStoredStateIsNone(t *testing.T) {
	store := persist.NewMemory()
	require.NoError(t, store.Put(StoreKey("opamp"), nil))
	r := newRotator(t, store, newClock())
	assert.False(t, r.Pending())
	_, _, ok := r.Accepted()
	assert.False(t, ok)
}
