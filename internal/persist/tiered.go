package persist

import "errors"

// Tiered reads from fast first and falls back to durable, and writes to
// both: the in-process store answers a reload at once, and the directory
// answers the first instance after a restart.
type Tiered struct {
	fast, durable Store
}

var _ Store = Tiered{}

// NewTiered layers fast over durable.
func NewTiered(fast, durable Store) Tiered { return Tiered{fast: fast, durable: durable} }

// NewStateDir is the store of a state directory at path: the process's
// store over the directory, so that a reload reads at once and a restart
// finds what the last instance wrote.
func NewStateDir(path string) (Tiered, error) {
	dir, err := NewDir(path)
	if err != nil {
		return Tiered{}, err
	}
	return NewTiered(Process(), dir), nil
}

// Get implements Store. A value found only in durable is copied into fast.
func (t Tiered) Get(key string) ([]byte, bool, error) {
	if v, ok, err := t.fast.Get(key); err == nil && ok {
		return v, true, nil
	}
	v, ok, err := t.durable.Get(key)
	if err != nil || !ok {
		return nil, false, err
	}
	return v, true, t.fast.Put(key, v)
}

// Put implements Store: both tiers are written, and a failure of either
// is returned (the other still holds the value).
func (t Tiered) Put(key string, value []byte) error {
	return errors.Join(t.fast.Put(key, value), t.durable.Put(key, value))
}
