package opampclient

import (
	"sync"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// field is one piece of reported state. Each has a version bumped on every
// change; a change is pending until a message carrying that version (or a
// later one) was delivered, so a failed send loses nothing.
type field int

const (
	fDescription field = iota
	fHealth
	fEffectiveConfig
	fComponentsHash
	fComponentsFull
	fCustomCapabilities
	fFullState
	fRemoteConfigStatus
	fConnStatus
	numFields
)

// Kind says what a sent message carried, for the extension's telemetry.
type Kind uint16

// Kinds of content, a bitmask.
const (
	KindAgentDescription Kind = 1 << iota
	KindHealth
	KindEffectiveConfig
	KindAvailableComponents
	KindCustomCapabilities
	KindCustomMessage
	// KindHeartbeat: the message carried none of the above.
	KindHeartbeat
)

// reportState is everything the agent reports, and what of it the server
// does not have yet. Safe for concurrent use.
type reportState struct {
	mu   sync.Mutex
	caps protobufs.AgentCapabilities
	uid  types.InstanceUid
	// seq is the number of the next message: it moves on only when a
	// message reached the server, so a failed attempt leaves no gap.
	seq uint64
	// built is one past the highest number a built message took: a probe
	// (fullSnapshot) built while the serving connection has a message out
	// takes the number after it, never the same one; reserved is one past
	// the probe's, so the serving connection's later messages come after
	// it. Every server then sees the numbers rise by one.
	built, reserved uint64
	// serverCaps are the capabilities the server announced on this
	// connection; zero until it announces any.
	serverCaps uint64

	description  *protobufs.AgentDescription
	health       *protobufs.ComponentHealth
	effective    *protobufs.EffectiveConfig
	components   *protobufs.AvailableComponents
	customCaps   *protobufs.CustomCapabilities
	remoteStatus *protobufs.RemoteConfigStatus
	connStatus   *protobufs.ConnectionSettingsStatus
	// csr is a connection settings request waiting for a server that
	// takes them; sent once.
	csr *protobufs.ConnectionSettingsRequest

	// version[f] counts changes of f; sent[f] is the version the server has.
	version [numFields]uint64
	sent    [numFields]uint64

	custom     *protobufs.CustomMessage
	customDone chan struct{}

	// wake is signalled (never closed) when something becomes pending.
	wake chan struct{}
}

func newReportState(uid types.InstanceUid, caps protobufs.AgentCapabilities) *reportState {
	r := &reportState{uid: uid, caps: caps & definedCapabilities, wake: make(chan struct{}, 1)}
	r.version[fFullState] = 1 // the first message of a client is a full state
	return r
}

func (r *reportState) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// bumpLocked marks f changed and wakes the sender.
func (r *reportState) bumpLocked(f field) {
	r.version[f]++
	r.signal()
}

func (r *reportState) has(c protobufs.AgentCapabilities) bool { return r.caps&c != 0 }

// replace sets *dst to v and marks f changed, unless v equals what is
// there: repeating a value sends nothing. A nil v is ignored. v is kept,
// not copied (a fleet of instances must not pay twice): callers hand over
// values they no longer modify.
func replace[T proto.Message](r *reportState, dst *T, v T, f field) {
	if !v.ProtoReflect().IsValid() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if proto.Equal(*dst, v) {
		return
	}
	*dst = v
	r.bumpLocked(f)
}

func (r *reportState) setDescription(d *protobufs.AgentDescription) {
	replace(r, &r.description, d, fDescription)
}

func (r *reportState) descriptionCopy() *protobufs.AgentDescription {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.description == nil {
		return nil
	}
	return proto.Clone(r.description).(*protobufs.AgentDescription)
}

func (r *reportState) setHealth(h *protobufs.ComponentHealth) { replace(r, &r.health, h, fHealth) }

func (r *reportState) setEffectiveConfig(ec *protobufs.EffectiveConfig) {
	replace(r, &r.effective, ec, fEffectiveConfig)
}

func (r *reportState) hasEffectiveConfig() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.effective != nil
}

// setComponents records the available components; a change sends the hash,
// and the server asks for the whole list if it does not know the hash.
func (r *reportState) setComponents(ac *protobufs.AvailableComponents) {
	replace(r, &r.components, ac, fComponentsHash)
}

func (r *reportState) setCustomCapabilities(cc *protobufs.CustomCapabilities) {
	replace(r, &r.customCaps, cc, fCustomCapabilities)
}

// hasCustomCapability: a custom message from the server is delivered only
// for a capability the agent advertises.
func (r *reportState) hasCustomCapability(c string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.customCaps.GetCapabilities() {
		if have == c {
			return true
		}
	}
	return false
}

// queueCustom holds one custom message until it is delivered; the returned
// channel closes then. A second one while the first waits is refused with
// types.ErrCustomMessagePending and the first one's channel, as opamp-go's
// client does, so callers written for it work unchanged.
func (r *reportState) queueCustom(m *protobufs.CustomMessage) (chan struct{}, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.custom != nil {
		return r.customDone, types.ErrCustomMessagePending
	}
	r.custom = m
	r.customDone = make(chan struct{})
	r.signal()
	return r.customDone, nil
}

// markFull asks for the whole state in the next message: on every new
// connection, when the server asks, and after a failed HTTP request.
func (r *reportState) markFull() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bumpLocked(fFullState)
}

// markComponentsFull: the server asked for the full list of components.
// Without the capability (or components) there is nothing to send, and a
// message would carry no change.
func (r *reportState) markComponentsFull() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.components == nil || !r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents) {
		return
	}
	r.bumpLocked(fComponentsFull)
}

// setServerCapabilities records what the server announced (0: nothing,
// which leaves what is known). A server that starts accepting the
// effective config gets it.
func (r *reportState) setServerCapabilities(caps uint64) {
	if caps == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	before := r.serverAcceptsLocked()
	r.serverCaps = caps
	if !before && r.serverAcceptsLocked() {
		r.bumpLocked(fEffectiveConfig)
	}
	if r.csr != nil && r.serverTakesRequestsLocked() {
		r.signal()
	}
}

// forgetServer: a new connection may reach another server, which has yet
// to announce its capabilities.
func (r *reportState) forgetServer() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serverCaps = 0
}

// serverAcceptsLocked: the effective config may go to the server, which
// accepts it or has not said (opamp-go's server announces nothing unless
// told).
func (r *reportState) serverAcceptsLocked() bool {
	return r.serverCaps == 0 || r.serverCaps&uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsEffectiveConfig) != 0
}

// pending reports whether anything waits to be sent.
func (r *reportState) pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pendingLocked()
}

func (r *reportState) setUID(uid types.InstanceUid) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.uid = uid
}

func (r *reportState) instanceUID() types.InstanceUid {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.uid
}

func (r *reportState) pendingLocked() bool {
	if r.custom != nil || (r.csr != nil && r.serverTakesRequestsLocked()) {
		return true
	}
	for f := range numFields {
		if r.version[f] != r.sent[f] {
			return true
		}
	}
	return false
}

// outgoing is a built message and what to mark delivered once it is.
type outgoing struct {
	msg      *protobufs.AgentToServer
	versions [numFields]uint64
	custom   *protobufs.CustomMessage
	csr      *protobufs.ConnectionSettingsRequest
	kinds    Kind
	// size is the encoded message's size; discarded lists the reports
	// left out to keep it within the send limit.
	size      int
	discarded []Kind
	// otherServer: o goes to a server other than the current one (a
	// probe), which a limit learnt from the current one does not bind.
	otherServer bool
}

// next builds the next message from what is pending. With heartbeat false
// it returns nil when nothing is pending; with heartbeat true it always
// returns a message (an HTTP poll, a WebSocket heartbeat).
func (r *reportState) next(heartbeat bool) *outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !heartbeat && !r.pendingLocked() {
		return nil
	}
	return r.buildLocked(r.version[fFullState] != r.sent[fFullState])
}

// fullSnapshot is the full state as a message, for a connection other
// than the serving one (TryConnection's probe); what it carries is marked
// delivered only if that connection is kept.
func (r *reportState) fullSnapshot() *outgoing {
	r.mu.Lock()
	defer r.mu.Unlock()
	taken := max(r.seq, r.reserved, r.built) // before buildLocked counts the probe's own header
	o := r.buildLocked(true)
	o.msg.SequenceNum = taken
	r.built, r.reserved = taken+1, taken+1
	return o
}

func (r *reportState) buildLocked(full bool) *outgoing {
	o := &outgoing{versions: r.version}
	m := r.headerLocked()
	changed := func(f field) bool { return full || r.version[f] != r.sent[f] }
	if changed(fDescription) && r.description != nil {
		m.AgentDescription = r.description
		o.kinds |= KindAgentDescription
	}
	if changed(fHealth) && r.health != nil && r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth) {
		m.Health = r.health
		o.kinds |= KindHealth
	}
	if changed(fEffectiveConfig) && r.effective != nil && r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig) && r.serverAcceptsLocked() {
		m.EffectiveConfig = r.effective
		o.kinds |= KindEffectiveConfig
	}
	if r.components != nil && r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents) {
		switch {
		case r.version[fComponentsFull] != r.sent[fComponentsFull]:
			m.AvailableComponents = r.components
			o.kinds |= KindAvailableComponents
		case changed(fComponentsHash):
			m.AvailableComponents = &protobufs.AvailableComponents{Hash: r.components.GetHash()}
			o.kinds |= KindAvailableComponents
		}
	}
	if changed(fCustomCapabilities) && r.customCaps != nil {
		m.CustomCapabilities = r.customCaps
		o.kinds |= KindCustomCapabilities
	}
	if r.custom != nil {
		m.CustomMessage = r.custom
		o.custom = r.custom
		o.kinds |= KindCustomMessage
	}
	r.remoteConfigStatusLocked(m, o, full)
	r.connStatusLocked(m, o, full)
	r.csrLocked(m, o)
	if o.kinds == 0 {
		o.kinds = KindHeartbeat
	}
	o.msg = m
	return o
}

// headerLocked starts a message with what every message carries: the
// instance uid, the next sequence number (from 0) and the capabilities.
func (r *reportState) headerLocked() *protobufs.AgentToServer {
	seq := max(r.seq, r.reserved)
	r.built = max(r.built, seq+1)
	return &protobufs.AgentToServer{
		InstanceUid:  append([]byte(nil), r.uid[:]...),
		SequenceNum:  seq,
		Capabilities: uint64(r.caps),
	}
}

// delivered marks what o carried as known to the server, and its sequence
// number as used: changes made after o was built stay pending.
func (r *reportState) delivered(o *outgoing) {
	r.consumed(o)
	r.dropped(o)
}

// consumed: o reached the server (which may have refused it, UNAVAILABLE),
// so the next message takes the next number.
func (r *reportState) consumed(o *outgoing) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq = max(r.seq, o.msg.GetSequenceNum()+1)
}

// quiet: nothing waits to be sent and no built message is still on its
// way (every number taken was consumed).
func (r *reportState) quiet() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.built <= r.seq && !r.pendingLocked()
}

// serverHas sets what the server has to exactly what o carried: o went on
// a new connection (a probe) while the old one may have delivered later
// changes, which the new server lacks. Call it once the old connection
// can deliver nothing more.
func (r *reportState) serverHas(o *outgoing) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = o.versions
	// The new server's numbers go on from the probe's.
	r.seq = o.msg.GetSequenceNum() + 1
	r.built, r.reserved = r.seq, 0
	if o.custom != nil && r.custom == o.custom {
		r.custom = nil
		close(r.customDone)
		r.customDone = nil
	}
	if o.csr != nil && r.csr == o.csr {
		r.csr = nil // the probe carried it to the server that counts now
	}
	if r.pendingLocked() {
		r.signal()
	}
}

// dropped marks what o carried as done without o reaching the server: it
// could not be encoded; its number stays free.
func (r *reportState) dropped(o *outgoing) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for f := range numFields {
		r.sent[f] = max(r.sent[f], o.versions[f])
	}
	if o.csr != nil && r.csr == o.csr {
		r.csr = nil
	}
	if o.custom != nil && r.custom == o.custom {
		r.custom = nil
		close(r.customDone)
		r.customDone = nil
	}
}

// disconnect is the goodbye message. With report, it is also the full
// status report, for a connection on which none went yet: the first
// message must be one.
func (r *reportState) disconnect(report bool) *outgoing {
	var o *outgoing
	if report {
		r.markFull()
		o = r.next(true)
	} else {
		r.mu.Lock()
		o = &outgoing{msg: r.headerLocked()}
		r.mu.Unlock()
	}
	o.msg.AgentDisconnect = &protobufs.AgentDisconnect{}
	return o
}

// definedCapabilities is every bit AgentCapabilities defines: the others
// are reserved and must be sent as 0.
var definedCapabilities = func() protobufs.AgentCapabilities {
	var all protobufs.AgentCapabilities
	for v := range protobufs.AgentCapabilities_name {
		all |= protobufs.AgentCapabilities(v)
	}
	return all
}()
