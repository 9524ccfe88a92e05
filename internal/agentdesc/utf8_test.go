package agentdesc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"
)

// TestBuildRepairsInvalidUTF8: agent_description.non_identifying_attributes
// site: ${env:BAD} with BAD in Latin-1, and resource attributes holding
// bad bytes, give a description that encodes, with U+FFFD in place of the
// bad bytes and one warning per attribute.
func TestBuildRepairsInvalidUTF8(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	desc := Build(Input{
		InstanceUID:               testUID,
		Resource:                  resource(map[string]any{"service.name": "otel\xff", "region": "\xe9u", "zone\xfe": "a", "n": 1}),
		BuildInfo:                 testBuild,
		NonIdentifying:            map[string]string{"site": "caf\xe9", "team": "ok"},
		IncludeResourceAttributes: true,
		Host:                      testHost,
		Logger:                    zap.New(core),
	})
	_, err := proto.Marshal(desc)
	require.NoError(t, err, "the description must encode")

	assert.Equal(t, "otel\uFFFD", strs(t, desc.GetIdentifyingAttributes())[KeyServiceName])
	non := strs(t, desc.GetNonIdentifyingAttributes())
	assert.Equal(t, "caf\uFFFD", non["site"])
	assert.Equal(t, "ok", non["team"])
	assert.Equal(t, "\uFFFDu", non["region"])
	assert.Equal(t, "a", non["zone\uFFFD"])

	var fields []string
	for _, e := range logs.All() {
		fields = append(fields, e.ContextMap()["field"].(string))
	}
	assert.ElementsMatch(t, []string{
		`agent_description.identifying_attributes["service.name"]`,
		`agent_description.non_identifying_attributes["site"]`,
		`agent_description.non_identifying_attributes["region"]`,
		"agent_description.non_identifying_attributes key \"zone\uFFFD\"",
	}, fields)
}
