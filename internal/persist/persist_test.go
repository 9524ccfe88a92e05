package persist

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemory(t *testing.T) {
	s := NewMemory()
	_, ok, err := s.Get("a")
	require.NoError(t, err)
	assert.False(t, ok)

	in := []byte("one")
	require.NoError(t, s.Put("a", in))
	in[0] = 'X' // the store keeps its own copy
	got, ok, err := s.Get("a")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "one", string(got))
	got[0] = 'Y' // and hands out copies
	again, _, _ := s.Get("a")
	assert.Equal(t, "one", string(again))
}

func TestMemoryConcurrent(t *testing.T) {
	s := NewMemory()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", i%5)
			_ = s.Put(key, []byte(key))
			v, ok, _ := s.Get(key)
			assert.True(t, ok)
			assert.Equal(t, key, string(v))
		}()
	}
	wg.Wait()
}

func TestProcessIsShared(t *testing.T) {
	require.NoError(t, Process().Put("persist-test", []byte("v")))
	v, ok, err := Process().Get("persist-test")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "v", string(v))
}
