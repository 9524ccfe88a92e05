//go:build linux

package parentwatch // import "github.com/opampext/opampextension/internal/parentwatch"

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// isZombie reads the process state from /proc/<pid>/stat. kill(pid, 0)
// succeeds on a zombie, so without this a dead but unreaped parent would
// look alive forever.
func isZombie(pid int) (bool, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		// Reaped between kill and this read: the next kill reports it.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading state of process %d: %w", pid, err)
	}
	state, err := parseProcState(data)
	if err != nil {
		return false, fmt.Errorf("reading state of process %d: %w", pid, err)
	}
	return state == 'Z', nil
}

// parseProcState returns the state field of a /proc/<pid>/stat line,
// "pid (comm) S ...". comm may contain spaces and parentheses, so the state
// is found after the last ')'.
func parseProcState(data []byte) (byte, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || bytes.IndexByte(data[:end], '(') < 0 {
		return 0, errors.New("malformed /proc stat: no (comm) field")
	}
	rest := bytes.TrimLeft(data[end+1:], " ")
	if len(rest) == 0 || rest[0] == '\n' {
		return 0, errors.New("malformed /proc stat: no state field")
	}
	return rest[0], nil
}
