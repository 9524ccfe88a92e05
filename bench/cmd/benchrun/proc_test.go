package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatusKB(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{"present", "Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t   12345 kB\nThreads:\t7\n", 12345 * 1024, ""},
		{"missing", "Name:\tx\n", 0, "no VmRSS line"},
		{"garbage", "VmRSS:\tlots kB\n", 0, "VmRSS: strconv.ParseInt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statusKB([]byte(tt.in), "VmRSS")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	got, err := parseSchedstat([]byte("123456789 2000 17\n"))
	require.NoError(t, err)
	assert.Equal(t, 123456789*time.Nanosecond, got)
	_, err = parseSchedstat(nil)
	require.ErrorContains(t, err, "empty")
	_, err = parseSchedstat([]byte("x 1 2"))
	require.ErrorContains(t, err, "run time")
}

func TestOwnProcess(t *testing.T) {
	mem, err := readMemory(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, mem.rss, int64(1<<20))
	assert.Positive(t, mem.anon)
	assert.Positive(t, mem.file)
	assert.LessOrEqual(t, mem.anon+mem.file, mem.rss+1<<20, "RssShmem is the rest")
	before, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	for start := time.Now(); time.Since(start) < 30*time.Millisecond; {
	}
	after, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, after, before)
}
