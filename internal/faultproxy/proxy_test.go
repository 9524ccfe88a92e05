package faultproxy

import (
	"bufio"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestForwardsAndCuts: bytes pass both ways; CutAll ends the connection.
func TestForwardsAndCuts(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := echo.Accept()
		if err != nil {
			return
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		_, _ = c.Write([]byte(line))
		buf := make([]byte, 1)
		_, _ = c.Read(buf) // until the proxy cuts us
		_ = c.Close()
	}()
	defer func() { _ = echo.Close(); <-done }()

	p := Start(t, echo.Addr().String())
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	_, err = c.Write([]byte("ping\n"))
	require.NoError(t, err)
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "ping\n", line)

	assert.Equal(t, 2, p.CutAll())
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "the client side must see the cut")
	assert.Equal(t, 2, p.Cuts())
}
