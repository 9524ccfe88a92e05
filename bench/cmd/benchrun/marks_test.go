package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLineMarks(t *testing.T) {
	ready := "2026-12-01T17:00:00.000Z\tinfo\tservice/service.go:1\tEverything is ready. Begin running and processing data.\n"
	ext := "2026-12-01T17:00:00.000Z\tinfo\textensions/extensions.go:1\tExtension is starting...\t{\"otelcol.component.id\": \"opamp\"}\n"
	other := "2026-12-01T17:00:00.000Z\tinfo\textensions/extensions.go:1\tExtension is starting...\t{\"otelcol.component.id\": \"health_check\"}\n"
	tests := []struct {
		name      string
		chunks    []string
		wantReady int // index of the chunk whose write completes the line, -1: none
		wantExt   int
	}{
		{"whole lines", []string{other, ext, ready}, 2, 1},
		{"a line split over writes", []string{ready[:10], ready[10:40], ready[40:]}, 2, -1},
		{"two lines in one write", []string{other + ext, ready}, 1, 0},
		{"no newline yet", []string{ready[:len(ready)-1]}, -1, -1},
		{"only the first of repeated lines", []string{ready, ready}, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tick := time.Unix(0, 0)
			clock := func() time.Time { tick = tick.Add(time.Second); return tick }
			m := newLineMarks(&out, clock, processMarks)
			for _, c := range tt.chunks {
				n, err := m.Write([]byte(c))
				require.NoError(t, err)
				assert.Equal(t, len(c), n)
			}
			assert.Equal(t, bytes.Join(toBytes(tt.chunks), nil), out.Bytes(), "every byte reaches the log")
			for _, c := range []struct {
				mark logMark
				want int
			}{{markReady, tt.wantReady}, {markExtensionStart, tt.wantExt}} {
				at, ok := m.At(c.mark)
				if c.want < 0 {
					assert.False(t, ok, c.mark.name)
					continue
				}
				require.True(t, ok, c.mark.name)
				assert.Equal(t, time.Unix(int64(c.want+1), 0), at, c.mark.name)
			}
		})
	}
}

func toBytes(s []string) [][]byte {
	b := make([][]byte, len(s))
	for i := range s {
		b[i] = []byte(s[i])
	}
	return b
}
