package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsRefOnly(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"${env:API_TOKEN}", true},
		{"${env:A}${file:/run/secrets/b}", true},
		{"${API_TOKEN}", true},
		{"${env:A:-default}", false},
		{"Bearer ${env:A}", false},
		{"${env:A} ", false},
		{"$${env:A}", false},
		{"${}", false},
		{"${env:A", false},
		{"", false},
		{"plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, isRefOnly(tt.in))
		})
	}
}
