// Package persist is the one small layer through which the extension keeps
// state that must outlive an extension instance. Today that is the
// instance uid across in-process reloads (SIGHUP builds a new extension),
// in Process; state that must survive a process restart (the remote
// configuration and its status) is kept in a Dir, the file-backed Store.
package persist

import (
	"sync"
)

// Store keeps small values by key. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the value for key and whether it was found.
	Get(key string) ([]byte, bool, error)
	// Put replaces the value for key.
	Put(key string, value []byte) error
}

// Memory is a Store that lives as long as the value.
type Memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{m: map[string][]byte{}} }

// Get implements Store; the value returned is a copy.
func (s *Memory) Get(key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return append([]byte(nil), v...), ok, nil
}

// Put implements Store; the value is copied.
func (s *Memory) Put(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	return nil
}

var process = NewMemory()

// Process is the store shared by every extension instance of this process:
// it survives Collector reloads, not restarts.
func Process() Store { return process }
