package agents

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// Errors of Store.OfferConnection, for the caller to map to an answer.
var (
	ErrConnectionNotAccepted = errors.New("the agent does not accept OpAMP connection settings (AcceptsOpAMPConnectionSettings not set)")
	// ErrBadOffer wraps what is wrong with a ConnectionOffer.
	ErrBadOffer = errors.New("invalid connection settings offer")
)

// ConnectionOffer is what the page offers an agent: a new OpAMP endpoint,
// one header, or both. Fields left empty keep the agent's current values.
type ConnectionOffer struct {
	Endpoint    string `json:"endpoint,omitempty"`
	HeaderName  string `json:"header_name,omitempty"`
	HeaderValue string `json:"header_value,omitempty"` // a secret: never printed, never stored in view
}

// SentConnection describes the connection settings last offered to an
// agent, without the header's value.
type SentConnection struct {
	Hash     string    `json:"hash"`
	Endpoint string    `json:"endpoint,omitempty"`
	Header   string    `json:"header,omitempty"` // the header's name only
	At       time.Time `json:"at"`
	// Delivered says the offer went out; an HTTP agent, or one offline,
	// gets it with the answer to its next message.
	Delivered bool `json:"delivered"`
}

// Check says what, if anything, makes o unfit to send: an endpoint must be
// an absolute ws, wss, http or https URL; a header needs a valid name and
// a value without control characters (it would not survive the wire).
func (o ConnectionOffer) Check() error {
	if o.Endpoint == "" && o.HeaderName == "" {
		return fmt.Errorf("%w: give a new endpoint, a header, or both", ErrBadOffer)
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		switch {
		case err != nil || u.Host == "":
			return fmt.Errorf("%w: the endpoint %q is not an absolute URL", ErrBadOffer, o.Endpoint)
		case u.Scheme != "ws" && u.Scheme != "wss" && u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("%w: the endpoint's scheme must be ws, wss, http or https, not %q", ErrBadOffer, u.Scheme)
		}
	}
	switch {
	case o.HeaderName == "" && o.HeaderValue != "":
		return fmt.Errorf("%w: a header value needs a header name", ErrBadOffer)
	case o.HeaderName == "":
	case !isToken(o.HeaderName):
		return fmt.Errorf("%w: %q is not a valid header name", ErrBadOffer, o.HeaderName)
	case o.HeaderValue == "":
		return fmt.Errorf("%w: the header %s needs a value", ErrBadOffer, o.HeaderName)
	case strings.ContainsFunc(o.HeaderValue, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
		return fmt.Errorf("%w: the value of header %s has a control character", ErrBadOffer, o.HeaderName)
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110), what a header
// name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

func (o ConnectionOffer) settings() *protobufs.OpAMPConnectionSettings {
	s := &protobufs.OpAMPConnectionSettings{DestinationEndpoint: o.Endpoint}
	if o.HeaderName != "" {
		s.Headers = &protobufs.Headers{Headers: []*protobufs.Header{{Key: o.HeaderName, Value: o.HeaderValue}}}
	}
	return s
}

// connectionHash is the offer's hash: stable for its content, so the same
// offer sent twice carries the same hash (and the agent applies it once).
// It is keyed with the store's random key so that a hash, which the page
// and the API show, does not let anyone test guesses of a header value.
func (s *Store) connectionHash(cs *protobufs.OpAMPConnectionSettings) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(cs) // a message of strings always encodes
	m := hmac.New(sha256.New, s.hashKey[:])
	m.Write(b)
	return m.Sum(nil)
}

// AcceptsConnectionSettings reports whether the agent said it takes OpAMP
// connection settings.
func (a *Agent) AcceptsConnectionSettings() bool {
	return a.capabilities&uint64(protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings) != 0
}

// ReportsConnectionSettingsStatus reports whether the agent said it
// reports the outcome of connection settings offers.
func (a *Agent) ReportsConnectionSettingsStatus() bool {
	return a.capabilities&uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus) != 0
}

// OfferedConnection says what Store.OfferConnection recorded and where to
// push it.
type OfferedConnection struct {
	Agent string // the agent's label, for terminal output
	Hash  string // hex of the offer's hash
	// Push is set when the agent is connected over WebSocket: the caller
	// sends it on connection ConnID, and the agent then has it.
	Push   *protobufs.ConnectionSettingsOffers
	ConnID uint64
}

// OfferConnection records o as the connection settings offered to the
// agent uid. Unless it returns a Push, the offer rides on the answer to
// the agent's next message, once: unlike a remote config it is not sent
// again on a new connection, which is what an accepted offer opens.
func (s *Store) OfferConnection(now time.Time, uid string, o ConnectionOffer) (OfferedConnection, error) {
	if err := o.Check(); err != nil {
		return OfferedConnection{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agents[uid]
	switch {
	case !ok:
		return OfferedConnection{}, ErrUnknownAgent
	case !a.AcceptsConnectionSettings():
		return OfferedConnection{}, ErrConnectionNotAccepted
	}
	cs := o.settings()
	msg := &protobufs.ConnectionSettingsOffers{Hash: s.connectionHash(cs), Opamp: cs}
	a.SentConnection = &SentConnection{Hash: hex.EncodeToString(msg.GetHash()), Endpoint: o.Endpoint, Header: o.HeaderName, At: now}
	out := OfferedConnection{Agent: a.Label(), Hash: a.SentConnection.Hash}
	if a.Connected && a.Transport == TransportWebSocket {
		a.SentConnection.Delivered = true
		a.connOffer = nil // the server keeps no header value it no longer needs
		out.Push, out.ConnID = msg, a.connID
		return out, nil
	}
	a.connOffer = msg
	return out, nil
}

// RequeueConnection undoes the delivery of o when pushing it failed: it
// then rides on the answer to the agent's next message, unless another
// offer replaced it meanwhile.
func (s *Store) RequeueConnection(uid string, o OfferedConnection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agents[uid]
	if !ok || a.SentConnection == nil || a.SentConnection.Hash != o.Hash || o.Push == nil {
		return
	}
	sent := *a.SentConnection // snapshots share the old one: replace, never modify
	sent.Delivered = false
	a.SentConnection, a.connOffer = &sent, o.Push
}

// pendingConnection returns the offer waiting for this answer, once.
func (a *Agent) pendingConnection() *protobufs.ConnectionSettingsOffers {
	msg := a.connOffer
	if msg == nil {
		return nil
	}
	a.connOffer = nil
	sent := *a.SentConnection
	sent.Delivered = true
	a.SentConnection = &sent
	return msg
}

// ConnectionStatusHistory is the statuses reported for the connection
// settings of the current status, oldest first (see historyOf).
func (a *Agent) ConnectionStatusHistory() []StatusChange {
	return historyOf(a.ConnectionStatus, a.ConnectionStatusChanges)
}

// mergeConnectionStatus stores a reported connection settings status
// received at now and says what changed.
func (a *Agent) mergeConnectionStatus(now time.Time, cs *protobufs.ConnectionSettingsStatus) string {
	st := &OfferStatus{
		Hash:         hex.EncodeToString(cs.GetLastConnectionSettingsHash()),
		Status:       enumName(protobufs.ConnectionSettingsStatuses_name, "ConnectionSettingsStatuses_", int32(cs.GetStatus())),
		ErrorMessage: cs.GetErrorMessage(),
	}
	if !recordStatus(now, &a.ConnectionStatus, &a.ConnectionStatusChanges, st) {
		return ""
	}
	return statusLine("connection settings", st)
}

// Summary describes the offer for the terminal and the page: the header
// by name only.
func (c *SentConnection) Summary() string {
	var parts []string
	if c.Endpoint != "" {
		parts = append(parts, "endpoint "+c.Endpoint)
	}
	if c.Header != "" {
		parts = append(parts, "header "+c.Header+" (value not shown)")
	}
	return strings.Join(parts, ", ")
}
