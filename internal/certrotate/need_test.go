package certrotate

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNeed(t *testing.T) {
	const window = 720 * time.Hour
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	end := now.Add(1000 * time.Hour)
	cert := &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: end}
	for _, tc := range []struct {
		name   string
		cert   *x509.Certificate
		now    time.Time
		window time.Duration
		want   bool
	}{
		{"no certificate", nil, now, window, true},
		{"far from its end", cert, now, window, false},
		{"just outside the window", cert, end.Add(-window - time.Second), window, false},
		{"at the window's start", cert, end.Add(-window), window, true},
		{"inside the window", cert, end.Add(-time.Hour), window, true},
		{"at NotAfter", cert, end, window, true},
		{"expired", cert, end.Add(time.Hour), window, true},
		{"zero window, valid", cert, end.Add(-time.Second), 0, false},
		{"zero window, expired", cert, end, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Need(tc.cert, tc.now, tc.window)
			assert.Equal(t, tc.want, got, why)
			assert.NotEmpty(t, why)
		})
	}
}
