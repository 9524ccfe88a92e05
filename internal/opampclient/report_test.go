package opampclient

import (
	"testing"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

const allReports = protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
	protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth |
	protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig |
	protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents

var reportUID = types.InstanceUid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

func testComponents(hash string) *protobufs.AvailableComponents {
	return &protobufs.AvailableComponents{
		Hash: []byte(hash),
		Components: map[string]*protobufs.ComponentDetails{
			"receivers": {SubComponentMap: map[string]*protobufs.ComponentDetails{"otlp": {}}},
		},
	}
}

func testEffective(body string) *protobufs.EffectiveConfig {
	return &protobufs.EffectiveConfig{ConfigMap: &protobufs.AgentConfigMap{
		ConfigMap: map[string]*protobufs.AgentConfigFile{"": {Body: []byte(body)}},
	}}
}

// loadedReport is a report state holding one value of every field.
func loadedReport(caps protobufs.AgentCapabilities) *reportState {
	r := newReportState(reportUID, caps)
	r.setDescription(description("a"))
	r.setHealth(&protobufs.ComponentHealth{Healthy: true})
	r.setEffectiveConfig(testEffective("a"))
	r.setComponents(testComponents("h1"))
	r.setCustomCapabilities(&protobufs.CustomCapabilities{Capabilities: []string{testCapability}})
	return r
}

// drain empties the wake channel and reports whether it was signalled.
func drain(r *reportState) bool {
	select {
	case <-r.wake:
		return true
	default:
		return false
	}
}

// TestReportFullState: the first message, and the first after markFull,
// carry every field the capabilities allow; components as a hash only.
func TestReportFullState(t *testing.T) {
	r := loadedReport(allReports)
	allKinds := KindAgentDescription | KindHealth | KindEffectiveConfig | KindAvailableComponents | KindCustomCapabilities
	for round := range 2 {
		o := r.next(false)
		require.NotNil(t, o, "round %d", round)
		m := o.msg
		assert.Equal(t, allKinds, o.kinds)
		assert.True(t, proto.Equal(description("a"), m.GetAgentDescription()))
		assert.True(t, m.GetHealth().GetHealthy())
		assert.True(t, proto.Equal(testEffective("a"), m.GetEffectiveConfig()))
		assert.Equal(t, []byte("h1"), m.GetAvailableComponents().GetHash())
		assert.Empty(t, m.GetAvailableComponents().GetComponents(), "a full state carries the components' hash only")
		assert.Equal(t, []string{testCapability}, m.GetCustomCapabilities().GetCapabilities())
		r.delivered(o)
		assert.Nil(t, r.next(false), "nothing is pending after delivery")
		drain(r)
		r.markFull()
		assert.True(t, drain(r), "markFull wakes the sender")
	}
}

// TestReportCapabilitiesGateFields: a field whose reporting capability is
// off is never sent, even in a full state.
func TestReportCapabilitiesGateFields(t *testing.T) {
	tests := []struct {
		name string
		caps protobufs.AgentCapabilities
		want Kind
	}{
		{"status only", protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus,
			KindAgentDescription | KindCustomCapabilities},
		{"health", protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth,
			KindAgentDescription | KindHealth | KindCustomCapabilities},
		{"effective config", protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig,
			KindAgentDescription | KindEffectiveConfig | KindCustomCapabilities},
		{"components", protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents,
			KindAgentDescription | KindAvailableComponents | KindCustomCapabilities},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := loadedReport(tt.caps).next(false)
			require.NotNil(t, o)
			assert.Equal(t, tt.want, o.kinds)
			assert.Equal(t, tt.want&KindHealth != 0, o.msg.Health != nil)
			assert.Equal(t, tt.want&KindEffectiveConfig != 0, o.msg.EffectiveConfig != nil)
			assert.Equal(t, tt.want&KindAvailableComponents != 0, o.msg.AvailableComponents != nil)
		})
	}
}

// setter changes one field of a report state to a given version.
type setter struct {
	name string
	kind Kind
	set  func(r *reportState, v string)
	got  func(m *protobufs.AgentToServer) proto.Message
	want func(v string) proto.Message
}

var setters = []setter{
	{"description", KindAgentDescription,
		func(r *reportState, v string) { r.setDescription(description(v)) },
		func(m *protobufs.AgentToServer) proto.Message { return m.GetAgentDescription() },
		func(v string) proto.Message { return description(v) }},
	{"health", KindHealth,
		func(r *reportState, v string) { r.setHealth(&protobufs.ComponentHealth{Healthy: true, Status: v}) },
		func(m *protobufs.AgentToServer) proto.Message { return m.GetHealth() },
		func(v string) proto.Message { return &protobufs.ComponentHealth{Healthy: true, Status: v} }},
	{"effective config", KindEffectiveConfig,
		func(r *reportState, v string) { r.setEffectiveConfig(testEffective(v)) },
		func(m *protobufs.AgentToServer) proto.Message { return m.GetEffectiveConfig() },
		func(v string) proto.Message { return testEffective(v) }},
	{"available components", KindAvailableComponents,
		func(r *reportState, v string) { r.setComponents(testComponents(v)) },
		func(m *protobufs.AgentToServer) proto.Message { return m.GetAvailableComponents() },
		func(v string) proto.Message { return &protobufs.AvailableComponents{Hash: []byte(v)} }},
	{"custom capabilities", KindCustomCapabilities,
		func(r *reportState, v string) {
			r.setCustomCapabilities(&protobufs.CustomCapabilities{Capabilities: []string{v}})
		},
		func(m *protobufs.AgentToServer) proto.Message { return m.GetCustomCapabilities() },
		func(v string) proto.Message { return &protobufs.CustomCapabilities{Capabilities: []string{v}} }},
}

// TestReportChangeAfterBuildStaysPending: a change made while a message is
// in flight is not marked delivered by that message's delivery, and a
// message never delivered leaves its content pending.
func TestReportChangeAfterBuildStaysPending(t *testing.T) {
	for _, s := range setters {
		t.Run(s.name, func(t *testing.T) {
			r := loadedReport(allReports)
			s.set(r, "v1")
			o1 := r.next(false)
			require.NotNil(t, o1)
			s.set(r, "v2")
			r.delivered(o1)

			o2 := r.next(false)
			require.NotNil(t, o2, "the change made after o1 was built is pending")
			assert.Equal(t, s.kind, o2.kinds, "only the changed field is sent")
			assert.True(t, proto.Equal(s.want("v2"), s.got(o2.msg)), "got %v", s.got(o2.msg))

			// o2 is lost (a failed write): the change stays pending.
			o3 := r.next(false)
			require.NotNil(t, o3)
			assert.True(t, proto.Equal(s.want("v2"), s.got(o3.msg)))
			r.delivered(o3)
			assert.Nil(t, r.next(false))
		})
	}
}

// TestReportEqualValueSendsNothing: setting the value already reported,
// or nil, neither wakes the sender nor sends anything.
func TestReportEqualValueSendsNothing(t *testing.T) {
	for _, s := range setters {
		t.Run(s.name, func(t *testing.T) {
			r := loadedReport(allReports)
			s.set(r, "same")
			r.delivered(r.next(false))
			drain(r)
			s.set(r, "same")
			assert.False(t, drain(r), "an equal value woke the sender")
			assert.Nil(t, r.next(false), "an equal value was sent")
		})
	}
	r := loadedReport(allReports)
	r.delivered(r.next(false))
	drain(r)
	r.setDescription(nil)
	r.setHealth(nil)
	r.setEffectiveConfig(nil)
	r.setComponents(nil)
	r.setCustomCapabilities(nil)
	assert.False(t, drain(r))
	assert.Nil(t, r.next(false), "nil values are ignored")
	assert.True(t, proto.Equal(description("a"), r.descriptionCopy()))
}

// TestReportComponentsFullOnRequest: the server's request for the full
// list gets the map once; later full states carry the hash only.
func TestReportComponentsFullOnRequest(t *testing.T) {
	r := loadedReport(allReports)
	r.delivered(r.next(false))

	r.markComponentsFull()
	o := r.next(false)
	require.NotNil(t, o)
	assert.Equal(t, KindAvailableComponents, o.kinds)
	assert.True(t, proto.Equal(testComponents("h1"), o.msg.GetAvailableComponents()), "the whole map is sent")
	r.delivered(o)
	assert.Nil(t, r.next(false))

	r.markFull()
	o = r.next(false)
	require.NotNil(t, o)
	assert.Equal(t, []byte("h1"), o.msg.GetAvailableComponents().GetHash())
	assert.Empty(t, o.msg.GetAvailableComponents().GetComponents())
}

// TestReportIdentityAndSequence: every message, heartbeats and the goodbye
// included, carries the capabilities and the current instance uid, and
// sequence numbers count from 0 without gaps.
func TestReportIdentityAndSequence(t *testing.T) {
	r := loadedReport(allReports)
	newUID := types.InstanceUid{0xff, 1}
	var msgs []*protobufs.AgentToServer
	uids := []types.InstanceUid{reportUID, reportUID, reportUID, newUID, newUID}

	o := r.next(false)
	r.delivered(o)
	msgs = append(msgs, o.msg)
	hb := r.next(true)
	assert.Equal(t, KindHeartbeat, hb.kinds)
	assert.Nil(t, hb.msg.AgentDescription)
	r.delivered(hb)
	msgs = append(msgs, hb.msg)
	r.setHealth(&protobufs.ComponentHealth{Healthy: false})
	failed := r.next(false) // never reaches the server: its number is free
	h := r.next(false)
	assert.Equal(t, failed.msg.GetSequenceNum(), h.msg.GetSequenceNum())
	r.delivered(h)
	msgs = append(msgs, h.msg)
	r.setUID(newUID)
	assert.Equal(t, newUID, r.instanceUID())
	last := r.next(true)
	r.delivered(last)
	msgs = append(msgs, last.msg, r.disconnect(false).msg)

	for i, m := range msgs {
		assert.Equal(t, uint64(i), m.GetSequenceNum(), "message %d", i)
		assert.Equal(t, uids[i][:], m.GetInstanceUid(), "message %d", i)
		assert.Equal(t, uint64(allReports), m.GetCapabilities(), "message %d", i)
	}
	assert.NotNil(t, msgs[len(msgs)-1].GetAgentDisconnect())
}
