package opampextension

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
)

// countingSnapshot counts the copies taken of a snapshot: each Effective and
// Unexpanded call deep-copies the whole config (core v0.165).
type countingSnapshot struct {
	extensioncapabilities.ConfigSnapshot
	effective, unexpanded int
}

func (s *countingSnapshot) Effective() *confmap.Conf {
	s.effective++
	return s.ConfigSnapshot.Effective()
}

func (s *countingSnapshot) Unexpanded() *confmap.Conf {
	s.unexpanded++
	return s.ConfigSnapshot.Unexpanded()
}

// NotifyConfigSnapshot runs on the Collector's start path, before the
// pipelines start: it copies the effective config once, however many
// readers it has.
func TestNotifyConfigSnapshotCopiesOnce(t *testing.T) {
	agent := newAgent(t, wsConfig("ws://127.0.0.1:1/v1/opamp"))
	snap := &countingSnapshot{ConfigSnapshot: snapshot(t, secretConfig)}
	require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snap))
	assert.Equal(t, 1, snap.effective, "copies of the effective config")
	assert.Equal(t, 1, snap.unexpanded, "copies of the unexpanded config")
	ec, err := agent.getEffectiveConfig(context.Background())
	require.NoError(t, err)
	assert.NotNil(t, ec, "the config was still built")
	shutdown(t, agent)
}
