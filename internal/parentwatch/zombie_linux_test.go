//go:build linux

package parentwatch

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseProcState(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    byte
		wantErr bool
	}{
		{name: "plain", in: "123 (sleep) S 1 123 123 0 -1\n", want: 'S'},
		{name: "zombie", in: "123 (sleep) Z 1 123\n", want: 'Z'},
		{name: "comm with spaces", in: "9 (my proc) R 1 2\n", want: 'R'},
		{name: "comm with parens", in: "9 (a) Z (b)) S 1 2\n", want: 'S'},
		{name: "comm is a close paren", in: "9 ()) Z 1\n", want: 'Z'},
		{name: "empty", in: "", wantErr: true},
		{name: "no comm", in: "123 sleep S 1\n", wantErr: true},
		{name: "no state", in: "123 (sleep)\n", wantErr: true},
		{name: "trailing spaces only", in: "123 (sleep)   ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcState([]byte(tt.in))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, string(tt.want), string(got))
		})
	}
}

func TestIsZombieSelf(t *testing.T) {
	z, err := isZombie(os.Getpid())
	require.NoError(t, err)
	assert.False(t, z)
}
