package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// Dir is a Store backed by one file per key in a directory, for state that
// must survive a process restart or a kill -9. Every Put is atomic: the
// value is written to a temporary file in the same directory, synced, and
// renamed over the key's file, and the directory is synced, so a reader
// (or the next process) sees either the old value or the new one, never a
// torn write. Files are 0600 and the directory 0700: they may hold a
// server's configuration, credentials included.
type Dir struct {
	path string
}

var _ Store = (*Dir)(nil)

// ErrBadKey is returned for a key that is not a plain file name.
var ErrBadKey = errors.New("persist: a key is 1 to 128 of [A-Za-z0-9._-], not starting with a dot")

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)

// NewDir creates the directory (0700) when missing and returns its store.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("persist: empty directory")
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("persist: %w", err)
	}
	return &Dir{path: path}, nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

func (d *Dir) file(key string) (string, error) {
	if !keyRE.MatchString(key) {
		return "", fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return filepath.Join(d.path, key), nil
}

// Get implements Store.
func (d *Dir) Get(key string) ([]byte, bool, error) {
	name, err := d.file(key)
	if err != nil {
		return nil, false, err
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("persist: %w", err)
	}
	return b, true, nil
}

// Put implements Store: write, fsync, rename, fsync the directory.
func (d *Dir) Put(key string, value []byte) (err error) {
	name, err := d.file(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.path, "."+key+".tmp-*")
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; say so for the reader.
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("persist: %w", err)
	}
	if _, err := tmp.Write(value); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("persist: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("persist: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	return syncDir(d.path)
}

// syncDir makes a rename durable. Some platforms cannot open or sync a
// directory; there the rename is as durable as the file system makes it,
// so a failure here is not the caller's.
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil //nolint:nilerr // best effort, see above
	}
	_ = f.Sync()
	return f.Close()
}

// KeyFor is the key of one component's value under prefix: the component
// id ("opamp/edge") with every byte a key cannot hold replaced by '_'
// ("instance_uid.opamp_edge"), so each extension instance has its own file.
func KeyFor(prefix, componentID string) string {
	b := []byte(prefix + "." + componentID)
	for i, c := range b {
		ok := c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
