package persist

import (
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTiered(t *testing.T) {
	dir := t.TempDir()
	durable, err := NewDir(dir)
	require.NoError(t, err)
	first := NewTiered(NewMemory(), durable)
	require.NoError(t, first.Put("uid", []byte("one")))

	// A restart: a new process memory, the same directory.
	again, err := NewDir(dir)
	require.NoError(t, err)
	fast := NewMemory()
	second := NewTiered(fast, again)
	got, ok, err := second.Get("uid")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "one", string(got))
	cached, ok, _ := fast.Get("uid")
	assert.True(t, ok, "a durable hit is kept in the fast tier")
	assert.Equal(t, "one", string(cached))

	_, ok, err = second.Get("missing")
	require.NoError(t, err)
	assert.False(t, ok)
}

type failing struct{ Store }

var errBroken = errors.New("broken")

func (failing) Put(string, []byte) error { return errBroken }

func TestTieredPutReportsEitherFailure(t *testing.T) {
	fast := NewMemory()
	s := NewTiered(fast, failing{NewMemory()})
	require.ErrorIs(t, s.Put("k", []byte("v")), errBroken)
	got, ok, _ := fast.Get("k")
	assert.True(t, ok, "the fast tier still holds the value")
	assert.Equal(t, "v", string(got))
}

// TestNewStateDir: what it stores reaches the directory, where a fresh
// Dir on the same path (a restart) finds it; a path that cannot be a
// directory is refused.
func TestNewStateDir(t *testing.T) {
	path := t.TempDir()
	st, err := NewStateDir(path)
	require.NoError(t, err)
	require.NoError(t, st.Put(KeyFor("state-dir-test", "opamp"), []byte("kept")))
	d, err := NewDir(path)
	require.NoError(t, err)
	got, ok, err := d.Get(KeyFor("state-dir-test", "opamp"))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "kept", string(got))

	file := path + "/a-file"
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = NewStateDir(file + "/sub")
	assert.Error(t, err)
}
