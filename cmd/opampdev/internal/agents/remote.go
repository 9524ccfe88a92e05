package agents

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// Errors of Store.Offer, for the caller to map to an answer.
var (
	ErrUnknownAgent = errors.New("no agent with this instance UID has connected")
	ErrNotAccepted  = errors.New("the agent does not accept remote configuration (AcceptsRemoteConfig not set)")
)

// SentConfig is the remote config the server last offered an agent.
type SentConfig struct {
	Hash string    `json:"hash"` // hex sha256 of Body
	Body string    `json:"body"`
	At   time.Time `json:"at"` // when it was offered
	// Delivered says the config went out on a connection; an HTTP agent,
	// or one offline, gets it with the answer to its next message.
	Delivered bool `json:"delivered"`
}

// AcceptsRemoteConfig reports whether the agent said it takes remote
// configuration.
func (a *Agent) AcceptsRemoteConfig() bool {
	return a.capabilities&uint64(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig) != 0
}

// ConfigHash is the hash of a posted config: sha256 of the body, so the
// same text sent twice carries the same hash (and the agent applies it
// once).
func ConfigHash(body []byte) []byte {
	sum := sha256.Sum256(body)
	return sum[:]
}

// Offered says what Store.Offer recorded and where to push it.
type Offered struct {
	Agent string // the agent's label, for terminal output
	Hash  string // hex ConfigHash
	// Push is set when the agent is connected over WebSocket: the caller
	// sends it on connection ConnID, and the agent then has it.
	Push   *protobufs.AgentRemoteConfig
	ConnID uint64
}

// Offer records body as the remote config for the agent uid: one YAML
// file under the empty key. Unless it returns a Push (see Offered), the
// config rides on the answer to the agent's next message (see
// pendingRemoteConfig).
func (s *Store) Offer(now time.Time, uid string, body []byte) (Offered, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agents[uid]
	switch {
	case !ok:
		return Offered{}, ErrUnknownAgent
	case !a.AcceptsRemoteConfig():
		return Offered{}, ErrNotAccepted
	}
	msg := &protobufs.AgentRemoteConfig{
		ConfigHash: ConfigHash(body),
		Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
			"": {Body: body, ContentType: "text/yaml"},
		}},
	}
	a.offer = msg
	a.SentConfig = &SentConfig{Hash: hex.EncodeToString(msg.GetConfigHash()), Body: string(body), At: now}
	o := Offered{Agent: a.Label(), Hash: a.SentConfig.Hash}
	if a.Connected && a.Transport == TransportWebSocket {
		a.SentConfig.Delivered, a.offerPending = true, false
		o.Push, o.ConnID = msg, a.connID
		return o, nil
	}
	a.offerPending = true
	return o, nil
}

// Requeue undoes the delivery of the offer with hash hex when pushing it
// failed: it then rides on the answer to the agent's next message.
func (s *Store) Requeue(uid, hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agents[uid]
	if !ok || a.SentConfig == nil || a.SentConfig.Hash != hash {
		return
	}
	sent := *a.SentConfig
	sent.Delivered = false
	a.SentConfig, a.offerPending = &sent, true
}

// pendingRemoteConfig returns the offered config when the agent should be
// sent it in this answer: it has not had it on this connection (or, over
// HTTP, since it was last offline or restarted) and does not already
// report its hash. The agent ignores a hash it has seen, so a repeat is
// harmless; this only keeps it from riding on every answer.
func (a *Agent) pendingRemoteConfig() *protobufs.AgentRemoteConfig {
	if a.offer == nil || !a.offerPending {
		return nil
	}
	a.offerPending = false
	if a.RemoteConfigStatus != nil && a.RemoteConfigStatus.Hash == hex.EncodeToString(a.offer.GetConfigHash()) {
		return nil
	}
	sent := *a.SentConfig // snapshots share the old one: replace, never modify
	sent.Delivered = true
	a.SentConfig = &sent
	return a.offer
}

// StatusHistory is the statuses reported for the config of the current
// status, oldest first (see historyOf).
func (a *Agent) StatusHistory() []StatusChange {
	return historyOf(a.RemoteConfigStatus, a.StatusChanges)
}

// mergeRemoteConfigStatus stores a reported status received at now and
// says what changed.
func (a *Agent) mergeRemoteConfigStatus(now time.Time, rs *protobufs.RemoteConfigStatus) string {
	st := &OfferStatus{
		Hash:         hex.EncodeToString(rs.GetLastRemoteConfigHash()),
		Status:       enumName(protobufs.RemoteConfigStatuses_name, "RemoteConfigStatuses_", int32(rs.GetStatus())),
		ErrorMessage: rs.GetErrorMessage(),
	}
	if !recordStatus(now, &a.RemoteConfigStatus, &a.StatusChanges, st) {
		return ""
	}
	return statusLine("remote config", st)
}
