//go:build unix

package remoteconfig

import (
	"os"
	"syscall"
)

var terminationSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func execSelf(exe string, argv, env []string) error { return syscall.Exec(exe, argv, env) }
