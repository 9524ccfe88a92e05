//go:build !unix

package reload

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnsupported(t *testing.T) {
	assert.ErrorContains(t, Supported(), "accepts_restart_command")
	assert.ErrorIs(t, Self(), Supported())
}
