package agents

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const acceptsRC = uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
	protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig |
	protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig)

func acceptingFirst() *protobufs.AgentToServer {
	m := first()
	m.Capabilities = acceptsRC
	return m
}

func rcStatus(seq uint64, hash []byte, st protobufs.RemoteConfigStatuses, why string) *protobufs.AgentToServer {
	return &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: seq,
		RemoteConfigStatus: &protobufs.RemoteConfigStatus{LastRemoteConfigHash: hash, Status: st, ErrorMessage: why}}
}

func TestOffer(t *testing.T) {
	uid := FormatUID(uid1)
	t.Run("unknown or not accepting", func(t *testing.T) {
		s := NewStore()
		_, err := s.Offer(t0, uid, []byte("a: 1"))
		require.ErrorIs(t, err, ErrUnknownAgent)
		s.Apply(t0, wsC, first())
		_, err = s.Offer(t0, uid, []byte("a: 1"))
		require.ErrorIs(t, err, ErrNotAccepted)
		assert.Nil(t, s.Snapshot()[0].SentConfig)
	})

	t.Run("websocket: pushed once, again after a reconnect until the hash is reported", func(t *testing.T) {
		s := NewStore()
		s.Apply(t0, wsC, acceptingFirst())
		body := []byte("receivers:\n  nop:\n")
		o, err := s.Offer(t0, uid, body)
		require.NoError(t, err)
		require.NotNil(t, o.Push)
		assert.Equal(t, wsC.ID, o.ConnID)
		assert.Equal(t, "col/0192f3a5", o.Agent)
		sum := sha256.Sum256(body)
		assert.Equal(t, hex.EncodeToString(sum[:]), o.Hash)
		assert.Equal(t, sum[:], o.Push.GetConfigHash())
		assert.Equal(t, map[string]*protobufs.AgentConfigFile{"": {Body: body, ContentType: "text/yaml"}}, o.Push.GetConfig().GetConfigMap())
		assert.Equal(t, &SentConfig{Hash: o.Hash, Body: string(body), At: t0, Delivered: true}, s.Snapshot()[0].SentConfig)

		assert.Nil(t, s.Apply(t0, wsC, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1}).RemoteConfig, "already pushed on this connection")
		next := Conn{ID: 2, Transport: TransportWebSocket}
		assert.Equal(t, o.Push, s.Apply(t0, next, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 2}).RemoteConfig, "a new connection gets it")
		assert.Nil(t, s.Apply(t0, next, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 3}).RemoteConfig)

		r := s.Apply(t0, next, rcStatus(4, o.Push.GetConfigHash(), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, "bad\nthing"))
		assert.Equal(t, []string{"remote config " + o.Hash[:8] + ": FAILED\n  bad\nthing"}, r.Lines)
		assert.Equal(t, &OfferStatus{Hash: o.Hash, Status: "FAILED", ErrorMessage: "bad\nthing"}, s.Snapshot()[0].RemoteConfigStatus)
		third := Conn{ID: 3, Transport: TransportWebSocket}
		assert.Nil(t, s.Apply(t0, third, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 5}).RemoteConfig, "the agent has it: no resend")
		assert.Empty(t, s.Apply(t0, third, rcStatus(6, o.Push.GetConfigHash(), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, "bad\nthing")).Lines,
			"an unchanged status prints nothing")
	})

	t.Run("http: with the next answer, again after being offline or a restart", func(t *testing.T) {
		s := NewStore()
		s.Apply(t0, httpC, acceptingFirst())
		o, err := s.Offer(t0, uid, []byte("a: 1"))
		require.NoError(t, err)
		assert.Nil(t, o.Push, "nothing to push on: queued")
		assert.False(t, s.Snapshot()[0].SentConfig.Delivered)
		poll := func(seq uint64) *protobufs.AgentRemoteConfig {
			return s.Apply(t0.Add(time.Duration(seq)*time.Second), Conn{ID: 10 + seq, Transport: TransportHTTP}, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: seq}).RemoteConfig
		}
		r := poll(1)
		require.NotNil(t, r)
		assert.Equal(t, o.Hash, hex.EncodeToString(r.GetConfigHash()))
		assert.True(t, s.Snapshot()[0].SentConfig.Delivered)
		assert.Nil(t, poll(2), "each poll is a request of its own: sent once, not with every answer")
		s.Sweep(t0.Add(10*time.Minute), time.Minute)
		assert.NotNil(t, poll(3), "back after being offline")
		assert.NotNil(t, s.Apply(t0, httpC, acceptingFirst()).RemoteConfig, "restarted (sequence 0)")

		o2, err := s.Offer(t0, uid, []byte("a: 2"))
		require.NoError(t, err)
		assert.Nil(t, o2.Push)
		rep := s.Apply(t0, httpC, rcStatus(1, ConfigHash([]byte("a: 1")), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, ""))
		require.NotNil(t, rep.RemoteConfig, "the agent reports the older config: the new one goes with this answer")
		assert.Equal(t, o2.Hash, hex.EncodeToString(rep.RemoteConfig.GetConfigHash()))
	})

	t.Run("requeue after a failed push", func(t *testing.T) {
		s := NewStore()
		s.Apply(t0, wsC, acceptingFirst())
		o, err := s.Offer(t0, uid, []byte("a: 1"))
		require.NoError(t, err)
		s.Requeue(uid, "not-this-hash")
		assert.True(t, s.Snapshot()[0].SentConfig.Delivered)
		s.Requeue(uid, o.Hash)
		assert.False(t, s.Snapshot()[0].SentConfig.Delivered)
		assert.Equal(t, o.Push, s.Apply(t0, wsC, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1}).RemoteConfig)
	})
}

// TestStatusHistory: every change of status is kept with when it came, a
// bounded number of them; StatusHistory lists those of the current hash.
func TestStatusHistory(t *testing.T) {
	s := NewStore()
	s.Apply(t0, wsC, acceptingFirst())
	h1, h2 := ConfigHash([]byte("one")), ConfigHash([]byte("two"))
	steps := []struct {
		hash []byte
		st   protobufs.RemoteConfigStatuses
	}{
		{h1, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING},
		{h1, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING}, // repeated: not a change
		{h1, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED},
		{h2, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED},
	}
	for i, st := range steps {
		s.Apply(t0.Add(time.Duration(i)*time.Millisecond), wsC, rcStatus(uint64(i+1), st.hash, st.st, ""))
	}
	a := s.Snapshot()[0]
	assert.Len(t, a.StatusChanges, 3)
	assert.Equal(t, []StatusChange{{Hash: hex.EncodeToString(h2), Status: "FAILED", At: t0.Add(3 * time.Millisecond)}}, a.StatusHistory())

	for i := range 2 * maxStatusChanges {
		st := protobufs.RemoteConfigStatuses(1 + i%3)
		s.Apply(t0, wsC, rcStatus(uint64(len(steps)+1+i), h1, st, ""))
	}
	a = s.Snapshot()[0]
	assert.Len(t, a.StatusChanges, maxStatusChanges)
	assert.Equal(t, a.StatusChanges, a.StatusHistory(), "all of h1 now")
}
