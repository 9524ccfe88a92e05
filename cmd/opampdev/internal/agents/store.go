package agents

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// Report is what the server should print and answer after one event.
type Report struct {
	// Agent is the agent's short label (see Agent.Label).
	Agent string
	// Lines describe what changed; a line may span several text lines.
	Lines []string
	// Flags are ServerToAgentFlags to set in the reply.
	Flags uint64
	// RemoteConfig, when set, goes in the reply (see Store.Offer).
	RemoteConfig *protobufs.AgentRemoteConfig
	// ConnectionSettings, when set, goes in the reply (see
	// Store.OfferConnection).
	ConnectionSettings *protobufs.ConnectionSettingsOffers
}

// Store holds every agent seen since start, keyed by instance UID.
// All methods are safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	agents map[string]*Agent
	// descs keeps the last description per agent, to print it only on change.
	descs map[string]*protobufs.AgentDescription
	// hashKey keys the hashes of connection settings offers (see
	// connectionHash); drawn once per store.
	hashKey [32]byte
}

// NewStore returns an empty store.
func NewStore() *Store {
	s := &Store{
		agents: make(map[string]*Agent),
		descs:  make(map[string]*protobufs.AgentDescription),
	}
	_, _ = rand.Read(s.hashKey[:]) // never fails (crypto/rand)
	return s
}

const (
	flagFullState  = uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState)
	flagComponents = uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents)
)

// Apply merges one AgentToServer message received at now on c.
//
// Agents may omit fields that did not change since their last report, so
// only the fields present replace stored state. When the server cannot
// trust what it holds (an agent it has not seen, or a gap in sequence
// numbers) it asks for the full state; when it gets only the hash of the
// available components and lacks the map, it asks for the map.
func (s *Store) Apply(now time.Time, c Conn, msg *protobufs.AgentToServer) Report {
	s.mu.Lock()
	defer s.mu.Unlock()

	uid := FormatUID(msg.GetInstanceUid())
	a, known := s.agents[uid]
	var r Report
	switch {
	case !known:
		a = &Agent{InstanceUID: uid, FirstSeen: now}
		s.agents[uid] = a
		r.Lines = append(r.Lines, fmt.Sprintf("connected via %s from %s%s (new agent %s)", c.Transport, c.Remote, c.to(), uid))
		if msg.GetAgentDescription() == nil {
			r.Flags |= flagFullState
			r.Lines = append(r.Lines, "unknown agent sent a partial report: asking for full state")
		}
	case !a.Connected || (c.Transport == TransportWebSocket && a.connID != c.ID) || a.moved(c):
		line := fmt.Sprintf("connected via %s from %s%s", c.Transport, c.Remote, c.to())
		if a.moved(c) {
			line += " (moved from " + a.Listener + ")"
		}
		r.Lines = append(r.Lines, line)
		a.offerPending = true // a new connection has not had the offered config
	}
	// A client starts counting at 0 with a full report; any other jump means
	// reports were lost (or this server restarted) and state may be stale.
	switch seq := msg.GetSequenceNum(); {
	case !known || seq == a.SequenceNum+1:
	case seq == 0:
		r.Lines = append(r.Lines, "agent restarted (sequence number back to 0)")
		a.offerPending = true
	default:
		r.Flags |= flagFullState
		r.Lines = append(r.Lines, fmt.Sprintf("sequence number %d after %d: asking for full state", seq, a.SequenceNum))
	}

	a.Connected = true
	a.Transport, a.RemoteAddr, a.Listener, a.connID = c.Transport, c.Remote, c.Listener, c.ID
	a.LastSeen = now
	a.SequenceNum = msg.GetSequenceNum()
	a.Messages++

	if caps := msg.GetCapabilities(); caps != 0 && caps != a.capabilities {
		a.capabilities = caps
		a.Capabilities = capabilityNames(caps)
		r.Lines = append(r.Lines, "capabilities: "+strings.Join(a.Capabilities, ", "))
	}
	if d := msg.GetAgentDescription(); d != nil && !proto.Equal(d, s.descs[uid]) {
		s.descs[uid] = d
		a.Identifying = attributes(d.GetIdentifyingAttributes())
		a.NonIdentifying = attributes(d.GetNonIdentifyingAttributes())
		r.Lines = append(r.Lines, "description:\n  identifying:     "+attributeLine(a.Identifying)+
			"\n  non-identifying: "+attributeLine(a.NonIdentifying))
	}
	if h := health(msg.GetHealth()); h != nil {
		r.Lines = append(r.Lines, healthLines(a.Health, h)...)
		a.Health = h
	}
	if ec := msg.GetEffectiveConfig(); ec != nil {
		r.Lines = append(r.Lines, a.mergeConfig(configFiles(ec))...)
	}
	if ac := msg.GetAvailableComponents(); ac != nil {
		line, flags := a.mergeComponents(ac)
		r.Flags |= flags
		if line != "" {
			r.Lines = append(r.Lines, line)
		}
	}
	if cc := msg.GetCustomCapabilities(); cc != nil {
		list := slices.Sorted(slices.Values(cc.GetCapabilities()))
		if !slices.Equal(list, a.CustomCapabilities) || a.CustomCapabilities == nil {
			a.CustomCapabilities = list
			r.Lines = append(r.Lines, "custom capabilities: "+orNone(strings.Join(list, ", ")))
		}
	}
	if cm := msg.GetCustomMessage(); cm != nil {
		r.Lines = append(r.Lines, fmt.Sprintf("custom message %s %q (%d bytes)", cm.GetCapability(), cm.GetType(), len(cm.GetData())))
	}
	if rs := msg.GetRemoteConfigStatus(); rs != nil {
		if line := a.mergeRemoteConfigStatus(now, rs); line != "" {
			r.Lines = append(r.Lines, line)
		}
	}
	if cs := msg.GetConnectionSettingsStatus(); cs != nil {
		if line := a.mergeConnectionStatus(now, cs); line != "" {
			r.Lines = append(r.Lines, line)
		}
	}
	if r.ConnectionSettings = a.pendingConnection(); r.ConnectionSettings != nil {
		r.Lines = append(r.Lines, "connection settings "+shortHash(a.SentConnection.Hash)+" sent: "+a.SentConnection.Summary())
	}
	r.RemoteConfig = a.pendingRemoteConfig()
	if r.RemoteConfig != nil {
		r.Lines = append(r.Lines, "remote config "+shortHash(a.SentConfig.Hash)+" sent")
	}
	if msg.GetAgentDisconnect() != nil {
		a.Connected = false
		r.Lines = append(r.Lines, "disconnected (agent said goodbye)")
	}
	r.Agent = a.Label()
	return r
}

// moved says c reached another listener than the agent's last message
// (over HTTP, where every poll is a connection, the one sign of a move).
func (a *Agent) moved(c Conn) bool {
	return a.Listener != "" && c.Listener != "" && a.Listener != c.Listener
}

// to names the listener the connection reached, when known.
func (c Conn) to() string {
	if c.Listener == "" {
		return ""
	}
	return " to " + c.Listener
}

// mergeConfig stores the effective config. The first non-empty report is
// printed in full (a Supervisor reports an empty one before its collector
// is up), later ones only say that it changed and how big it is now.
func (a *Agent) mergeConfig(files []ConfigFile) []string {
	if a.EffectiveConfig != nil && slices.Equal(files, a.EffectiveConfig) {
		return nil
	}
	hadBody := configSize(a.EffectiveConfig) > 0
	a.EffectiveConfig = files
	size := configSize(files)
	switch {
	case size == 0:
		return []string{"effective config: empty"}
	case hadBody:
		return []string{fmt.Sprintf("effective config changed (%d bytes)", size)}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "effective config (%d bytes):", size)
	for _, f := range files {
		if len(files) > 1 || f.Name != "" {
			fmt.Fprintf(&b, "\n  --- %q", f.Name)
		}
		for line := range strings.Lines(strings.TrimRight(f.Body, "\n")) {
			b.WriteString("\n  | " + strings.TrimRight(line, "\n"))
		}
	}
	return []string{b.String()}
}

func configSize(files []ConfigFile) int {
	n := 0
	for _, f := range files {
		n += len(f.Body)
	}
	return n
}

// mergeComponents stores a full components map, or asks for it when the
// agent sent only a hash the server has no map for.
func (a *Agent) mergeComponents(ac *protobufs.AvailableComponents) (string, uint64) {
	hash := hex.EncodeToString(ac.GetHash())
	if len(ac.GetComponents()) == 0 {
		if a.AvailableComponents != nil && hash == a.ComponentsHash {
			return "", 0
		}
		return "available components: hash only, asking for the full list", flagComponents
	}
	if a.AvailableComponents != nil && hash != "" && hash == a.ComponentsHash {
		return "", 0
	}
	a.AvailableComponents = components(ac)
	a.ComponentsHash = hash
	return "available components: " + countLine(a.AvailableComponents), 0
}

// Disconnect marks the agent whose connection connID closed as offline.
// It reports nothing when the agent has since moved to another connection.
func (s *Store) Disconnect(uid string, connID uint64) (Report, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.agents[uid]
	if !ok || !a.Connected || a.connID != connID {
		return Report{}, false
	}
	a.Connected = false
	return Report{Agent: a.Label(), Lines: []string{"disconnected"}}, true
}

// Sweep marks HTTP agents that have not polled for longer than staleAfter
// as offline: plain HTTP has no connection whose close would tell.
func (s *Store) Sweep(now time.Time, staleAfter time.Duration) []Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Report
	for _, uid := range slices.Sorted(maps.Keys(s.agents)) {
		a := s.agents[uid]
		if a.Connected && a.Transport == TransportHTTP && now.Sub(a.LastSeen) > staleAfter {
			a.Connected = false
			out = append(out, Report{Agent: a.Label(), Lines: []string{
				fmt.Sprintf("disconnected (no poll for %s)", now.Sub(a.LastSeen).Round(time.Second)),
			}})
		}
	}
	return out
}

// Snapshot returns copies of all agents sorted by instance UID.
func (s *Store) Snapshot() []Agent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Agent, 0, len(s.agents))
	for _, uid := range slices.Sorted(maps.Keys(s.agents)) {
		out = append(out, *s.agents[uid])
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
