package agents

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const acceptsCS = uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
	protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings |
	protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus)

func connAgent(s *Store, c Conn) {
	m := first()
	m.Capabilities = acceptsCS
	s.Apply(t0, c, m)
}

func csStatus(seq uint64, hash string, st protobufs.ConnectionSettingsStatuses, why string) *protobufs.AgentToServer {
	h, _ := hex.DecodeString(hash)
	return &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: seq,
		ConnectionSettingsStatus: &protobufs.ConnectionSettingsStatus{LastConnectionSettingsHash: h, Status: st, ErrorMessage: why}}
}

const secret = "Bearer s3cret-token"

// TestConnectionOfferCheck: what an offer must be to be sent.
func TestConnectionOfferCheck(t *testing.T) {
	tests := []struct {
		name  string
		offer ConnectionOffer
		ok    bool
	}{
		{"endpoint", ConnectionOffer{Endpoint: "ws://127.0.0.1:4330/v1/opamp"}, true},
		{"https endpoint", ConnectionOffer{Endpoint: "https://opamp.example.com/v1/opamp"}, true},
		{"header", ConnectionOffer{HeaderName: "Authorization", HeaderValue: secret}, true},
		{"both", ConnectionOffer{Endpoint: "wss://h:1/p", HeaderName: "X-Key", HeaderValue: "v\twith tab"}, true},
		{"nothing", ConnectionOffer{}, false},
		{"relative endpoint", ConnectionOffer{Endpoint: "/v1/opamp"}, false},
		{"other scheme", ConnectionOffer{Endpoint: "ftp://h/p"}, false},
		{"unparsable", ConnectionOffer{Endpoint: "ws://[::1"}, false},
		{"value without name", ConnectionOffer{Endpoint: "ws://h/p", HeaderValue: secret}, false},
		{"name without value", ConnectionOffer{HeaderName: "X-Key"}, false},
		{"name with a space", ConnectionOffer{HeaderName: "X Key", HeaderValue: secret}, false},
		{"name with a colon", ConnectionOffer{HeaderName: "X:Key", HeaderValue: secret}, false},
		{"value with a newline", ConnectionOffer{HeaderName: "X-Key", HeaderValue: secret + "\r\nX-Other: 1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.offer.Check()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrBadOffer)
			if tt.offer.HeaderValue != "" {
				assert.NotContains(t, err.Error(), tt.offer.HeaderValue, "an error never carries the value")
			}
		})
	}
}

// TestOfferConnection: an offer is refused for an agent that did not
// advertise AcceptsOpAMPConnectionSettings; it is pushed over WebSocket,
// or rides once on the next answer (HTTP, offline, a failed push), never
// again on a new connection; the same content has the same hash; the
// header value is in the message only, never in the agent's view or a
// line; reported statuses are kept with their history.
func TestOfferConnection(t *testing.T) {
	uid := FormatUID(uid1)
	header := ConnectionOffer{HeaderName: "Authorization", HeaderValue: secret}

	t.Run("unknown, not accepting, invalid", func(t *testing.T) {
		s := NewStore()
		_, err := s.OfferConnection(t0, uid, header)
		require.ErrorIs(t, err, ErrUnknownAgent)
		s.Apply(t0, wsC, acceptingFirst()) // remote config only
		_, err = s.OfferConnection(t0, uid, header)
		require.ErrorIs(t, err, ErrConnectionNotAccepted)
		_, err = s.OfferConnection(t0, uid, ConnectionOffer{})
		require.ErrorIs(t, err, ErrBadOffer)
		assert.Nil(t, s.Snapshot()[0].SentConnection)
	})

	t.Run("websocket: pushed, not sent again on a new connection", func(t *testing.T) {
		s := NewStore()
		connAgent(s, wsC)
		o, err := s.OfferConnection(t0, uid, header)
		require.NoError(t, err)
		require.NotNil(t, o.Push)
		assert.Equal(t, wsC.ID, o.ConnID)
		assert.Equal(t, o.Hash, hex.EncodeToString(o.Push.GetHash()))
		require.Len(t, o.Push.GetOpamp().GetHeaders().GetHeaders(), 1)
		h := o.Push.GetOpamp().GetHeaders().GetHeaders()[0]
		assert.Equal(t, []string{"Authorization", secret}, []string{h.GetKey(), h.GetValue()})
		assert.Empty(t, o.Push.GetOpamp().GetDestinationEndpoint())
		a := s.Snapshot()[0]
		assert.Equal(t, &SentConnection{Hash: o.Hash, Header: "Authorization", At: t0, Delivered: true}, a.SentConnection)
		assert.Nil(t, a.connOffer, "nothing kept once pushed")

		again, err := s.OfferConnection(t0, uid, header)
		require.NoError(t, err)
		assert.Equal(t, o.Hash, again.Hash, "the same content, the same hash")
		other, err := s.OfferConnection(t0, uid, ConnectionOffer{HeaderName: "Authorization", HeaderValue: secret + "2"})
		require.NoError(t, err)
		assert.NotEqual(t, o.Hash, other.Hash)
		assert.NotEqual(t, o.Hash, NewStore().connectionHash(header.settings()), "keyed per store")

		next := Conn{ID: 2, Transport: TransportWebSocket, Remote: "127.0.0.1:5001", Listener: "127.0.0.1:4330"}
		r := s.Apply(t0, next, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1})
		assert.Nil(t, r.ConnectionSettings, "an accepted offer opens a new connection: it must not get the offer again")
		assert.Equal(t, "127.0.0.1:4330", s.Snapshot()[0].Listener)
	})

	t.Run("http and failed push: with the next answer, once", func(t *testing.T) {
		for _, c := range []Conn{httpC, wsC} {
			s := NewStore()
			connAgent(s, c)
			move := ConnectionOffer{Endpoint: "ws://127.0.0.1:4330/v1/opamp", HeaderName: "X-Key", HeaderValue: secret}
			o, err := s.OfferConnection(t0, uid, move)
			require.NoError(t, err)
			if c.Transport == TransportWebSocket {
				require.NotNil(t, o.Push)
				s.RequeueConnection(uid, o)
			} else {
				assert.Nil(t, o.Push)
			}
			assert.False(t, s.Snapshot()[0].SentConnection.Delivered)
			r := s.Apply(t0, c, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1})
			require.NotNil(t, r.ConnectionSettings, c.Transport)
			assert.Equal(t, "ws://127.0.0.1:4330/v1/opamp", r.ConnectionSettings.GetOpamp().GetDestinationEndpoint())
			assert.Equal(t, []string{"connection settings " + o.Hash[:8] + " sent: endpoint ws://127.0.0.1:4330/v1/opamp, header X-Key (value not shown)"}, r.Lines)
			assert.True(t, s.Snapshot()[0].SentConnection.Delivered)
			assert.Nil(t, s.Apply(t0, c, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 2}).ConnectionSettings, "once")
		}
	})

	t.Run("status and history", func(t *testing.T) {
		s := NewStore()
		connAgent(s, wsC)
		o, err := s.OfferConnection(t0, uid, ConnectionOffer{Endpoint: "ws://127.0.0.1:1/v1/opamp"})
		require.NoError(t, err)
		r := s.Apply(t0, wsC, csStatus(1, o.Hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING, ""))
		assert.Equal(t, []string{"connection settings " + o.Hash[:8] + ": APPLYING"}, r.Lines)
		r = s.Apply(t0.Add(1), wsC, csStatus(2, o.Hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED, "dial: connection refused"))
		assert.Equal(t, []string{"connection settings " + o.Hash[:8] + ": FAILED\n  dial: connection refused"}, r.Lines)
		assert.Empty(t, s.Apply(t0.Add(2), wsC, csStatus(3, o.Hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED, "dial: connection refused")).Lines,
			"the same status again (after every reconnect) prints nothing")
		a := s.Snapshot()[0]
		assert.Equal(t, &OfferStatus{Hash: o.Hash, Status: "FAILED", ErrorMessage: "dial: connection refused"}, a.ConnectionStatus)
		assert.Equal(t, []StatusChange{{Hash: o.Hash, Status: "APPLYING", At: t0}, {Hash: o.Hash, Status: "FAILED", At: t0.Add(1)}}, a.ConnectionStatusHistory())
		assert.Nil(t, a.RemoteConfigStatus, "kept apart from the remote config status")
	})
}

// TestMovedListener: a reconnection to another listener says where from.
func TestMovedListener(t *testing.T) {
	s := NewStore()
	a := Conn{ID: 1, Transport: TransportWebSocket, Remote: "127.0.0.1:5000", Listener: "127.0.0.1:4320"}
	r := s.Apply(t0, a, first())
	assert.True(t, strings.HasPrefix(r.Lines[0], "connected via websocket from 127.0.0.1:5000 to 127.0.0.1:4320 (new agent "), r.Lines[0])
	b := Conn{ID: 2, Transport: TransportWebSocket, Remote: "127.0.0.1:5001", Listener: "127.0.0.1:4330"}
	r = s.Apply(t0, b, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1})
	assert.Equal(t, "connected via websocket from 127.0.0.1:5001 to 127.0.0.1:4330 (moved from 127.0.0.1:4320)", r.Lines[0])

	h := Conn{ID: 3, Transport: TransportHTTP, Remote: "127.0.0.1:5002", Listener: "127.0.0.1:4330"}
	assert.Empty(t, s.Apply(t0, h, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 2}).Lines, "a poll to the same listener")
	h.ID, h.Listener = 4, "127.0.0.1:4320"
	r = s.Apply(t0, h, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 3})
	assert.Equal(t, []string{"connected via http from 127.0.0.1:5002 to 127.0.0.1:4320 (moved from 127.0.0.1:4330)"}, r.Lines, "a poll to another listener")
}
