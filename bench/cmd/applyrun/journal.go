package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// stamped is a value and when it arrived.
type stamped[T any] struct {
	at time.Time
	v  T
}

// journal is an append-only list of stamped values that a waiter can block
// on without polling: the server's messages, the Collector's log lines.
// Safe for concurrent use.
type journal[T any] struct {
	mu      sync.Mutex
	entries []stamped[T]
	wake    chan struct{} // closed and replaced on every add
}

func newJournal[T any]() *journal[T] { return &journal[T]{wake: make(chan struct{})} }

func (j *journal[T]) add(at time.Time, v T) {
	j.mu.Lock()
	j.entries = append(j.entries, stamped[T]{at, v})
	close(j.wake)
	j.wake = make(chan struct{})
	j.mu.Unlock()
}

// all returns the entries so far (the slice is never written again).
func (j *journal[T]) all() []stamped[T] {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.entries[:len(j.entries):len(j.entries)]
}

func (j *journal[T]) reset() {
	j.mu.Lock()
	j.entries = nil
	j.mu.Unlock()
}

// errTimeout: nothing matched within the wait.
var errTimeout = errors.New("nothing matching arrived")

// await returns the first entry that arrived at or after since and
// satisfies match, waiting up to wait for it.
func (j *journal[T]) await(ctx context.Context, since time.Time, wait time.Duration, match func(T) bool) (stamped[T], error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	seen := 0
	for {
		j.mu.Lock()
		entries, wake := j.entries, j.wake
		j.mu.Unlock()
		for ; seen < len(entries); seen++ {
			if e := entries[seen]; !e.at.Before(since) && match(e.v) {
				return e, nil
			}
		}
		select {
		case <-wake:
		case <-deadline.C:
			return stamped[T]{}, fmt.Errorf("%w within %s", errTimeout, wait)
		case <-ctx.Done():
			return stamped[T]{}, ctx.Err()
		}
	}
}
