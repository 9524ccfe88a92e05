//go:build !unix

package remoteconfig

import (
	"errors"
	"os"
)

var terminationSignals = []os.Signal{os.Interrupt}

func execSelf(string, []string, []string) error { return errors.ErrUnsupported }
