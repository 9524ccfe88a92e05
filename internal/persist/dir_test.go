package persist

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	d, err := NewDir(path)
	require.NoError(t, err)
	_, ok, err := d.Get("a")
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, d.Put("a", []byte("one")))
	require.NoError(t, d.Put("a", []byte("two")))
	got, ok, err := d.Get("a")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "two", string(got))

	// A second store on the same directory (the next process) sees it.
	again, err := NewDir(path)
	require.NoError(t, err)
	got, _, err = again.Get("a")
	require.NoError(t, err)
	assert.Equal(t, "two", string(got))

	entries, err := os.ReadDir(path)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(path, "a"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		di, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	}
}

func TestDirKeys(t *testing.T) {
	d, err := NewDir(t.TempDir())
	require.NoError(t, err)
	for _, key := range []string{"", ".hidden", "../x", "a/b", `a\b`, string(make([]byte, 200))} {
		assert.ErrorIs(t, d.Put(key, nil), ErrBadKey, "%q", key)
		_, _, err := d.Get(key)
		assert.ErrorIs(t, err, ErrBadKey, "%q", key)
	}
	assert.NoError(t, d.Put("remote-config.json", []byte("{}")))
}

// TestDirPutFailureKeepsOld: a failed write leaves the old value.
func TestDirPutFailureKeepsOld(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs a read-only directory that binds the test's user")
	}
	path := t.TempDir()
	d, err := NewDir(path)
	require.NoError(t, err)
	require.NoError(t, d.Put("a", []byte("old")))
	require.NoError(t, os.Chmod(path, 0o500))
	t.Cleanup(func() { _ = os.Chmod(path, 0o700) })
	require.Error(t, d.Put("a", []byte("new")))
	got, _, err := d.Get("a")
	require.NoError(t, err)
	assert.Equal(t, "old", string(got))
}

func TestKeyFor(t *testing.T) {
	for _, tc := range []struct{ prefix, id, want string }{
		{"instance_uid", "opamp", "instance_uid.opamp"},
		{"connection_settings", "opamp/edge", "connection_settings.opamp_edge"},
		{"certificate_key", "opamp/é x", "certificate_key.opamp____x"},
	} {
		got := KeyFor(tc.prefix, tc.id)
		if got != tc.want {
			t.Errorf("KeyFor(%q, %q) = %q, want %q", tc.prefix, tc.id, got, tc.want)
		}
		if _, err := (&Dir{path: t.TempDir()}).file(got); err != nil {
			t.Errorf("KeyFor(%q, %q) = %q is not a valid key: %v", tc.prefix, tc.id, got, err)
		}
	}
}
