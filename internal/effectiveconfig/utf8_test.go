package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMarshalRepairsInvalidUTF8: a config value or key in Latin-1 reaches
// the server as text with U+FFFD, not as YAML's base64 of the bytes.
func TestMarshalRepairsInvalidUTF8(t *testing.T) {
	body, err := Marshal(map[string]any{"site\xff": "caf\xe9", "list": []any{"\xfe"}})
	require.NoError(t, err)
	assert.Contains(t, string(body), "site\uFFFD: caf\uFFFD")
	assert.Contains(t, string(body), "- \uFFFD")
	assert.NotContains(t, string(body), "!!binary")
}
