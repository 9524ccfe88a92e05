package recorder

import (
	"sort"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// Kind is a bit set of what one AgentToServer message carried.
type Kind uint16

// Kinds of content. A message with none of them is a heartbeat (or a bare
// status report): instance uid, sequence number and capabilities only.
const (
	KindDescription Kind = 1 << iota
	KindHealth
	KindHealthy // the top-level health says healthy
	KindEffectiveConfig
	KindComponentsHash // available components without the list
	KindComponentsFull
	KindOther // remote config status, custom messages, package statuses...
)

func kindsOf(m *protobufs.AgentToServer) Kind {
	var k Kind
	if m.GetAgentDescription() != nil {
		k |= KindDescription
	}
	if h := m.GetHealth(); h != nil {
		k |= KindHealth
		if h.GetHealthy() {
			k |= KindHealthy
		}
	}
	if m.GetEffectiveConfig() != nil {
		k |= KindEffectiveConfig
	}
	if ac := m.GetAvailableComponents(); ac != nil {
		if len(ac.GetComponents()) > 0 {
			k |= KindComponentsFull
		} else {
			k |= KindComponentsHash
		}
	}
	if m.GetRemoteConfigStatus() != nil || m.GetCustomMessage() != nil || m.GetCustomCapabilities() != nil ||
		m.GetPackageStatuses() != nil || m.GetConnectionSettingsRequest() != nil || m.GetFlags() != 0 {
		k |= KindOther
	}
	return k
}

// Message is one recorded AgentToServer message.
type Message struct {
	At    int64  `json:"at"`    // UnixNano when the server decoded it
	Agent string `json:"agent"` // instance uid, hex
	Size  int    `json:"size"`  // proto.Size of the message
	Kinds Kind   `json:"kinds"`
}

// Agent sums up one agent.
type Agent struct {
	UID       string `json:"uid"`
	Messages  int    `json:"messages"`
	Bytes     int    `json:"bytes"`      // sum of proto sizes
	WireBytes int64  `json:"wire_bytes"` // TCP payload the agent sent, framing and upgrade included
	FirstAt   int64  `json:"first_at"`
	// HealthyAt is the first message whose health said healthy, 0 if none.
	HealthyAt int64 `json:"healthy_at"`
	// FirstFullAt is when the server first held description, effective
	// config, a healthy health and (if advertised) the component list;
	// FullAt is the same since the last outage. 0 until then.
	FirstFullAt int64 `json:"first_full_at"`
	FullAt      int64 `json:"full_at"`
	// FirstFullBytes and FirstFullMessages are everything the agent sent
	// up to and including FirstFullAt: the cost of its first full report.
	FirstFullBytes    int `json:"first_full_bytes"`
	FirstFullMessages int `json:"first_full_messages"`
}

// Snapshot is a copy of everything recorded so far.
type Snapshot struct {
	Messages []Message `json:"messages"` // in arrival order
	Agents   []Agent   `json:"agents"`   // sorted by UID
	// Attempts are the times of every TCP connection attempt, outages included.
	Attempts []int64 `json:"attempts"`
	// ReturnedAt is the end of the last outage, 0 if none.
	ReturnedAt int64 `json:"returned_at"`
}

// Snapshot copies what was recorded.
func (r *Recorder) Snapshot() Snapshot {
	attempts := r.listener.attemptTimes()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Snapshot{
		Messages:   append([]Message(nil), r.log...),
		Attempts:   attempts,
		ReturnedAt: r.returnedAt,
	}
	byUID := make(map[string]*Agent, len(r.agents))
	for uid, a := range r.agents {
		sum := &Agent{UID: uid, FirstFullAt: a.firstFullAt, FullAt: a.fullAt}
		for _, c := range a.conns {
			sum.WireBytes += c.read.Load()
		}
		byUID[uid] = sum
	}
	for _, m := range s.Messages {
		sum := byUID[m.Agent]
		sum.Messages++
		sum.Bytes += m.Size
		if sum.FirstAt == 0 {
			sum.FirstAt = m.At
		}
		if sum.HealthyAt == 0 && m.Kinds&KindHealthy != 0 {
			sum.HealthyAt = m.At
		}
		if sum.FirstFullAt != 0 && m.At <= sum.FirstFullAt {
			sum.FirstFullBytes += m.Size
			sum.FirstFullMessages++
		}
	}
	for _, a := range byUID {
		s.Agents = append(s.Agents, *a)
	}
	sort.Slice(s.Agents, func(i, j int) bool { return s.Agents[i].UID < s.Agents[j].UID })
	return s
}

// Window counts the messages and proto bytes that arrived in [from, to).
func (s Snapshot) Window(from, to int64) (messages, bytes int) {
	for _, m := range s.Messages {
		if m.At >= from && m.At < to {
			messages++
			bytes += m.Size
		}
	}
	return messages, bytes
}

// PeakAttemptsPerSecond is the largest number of connection attempts in one
// second-long bucket, buckets aligned on from, counting attempts in [from, to).
func (s Snapshot) PeakAttemptsPerSecond(from, to int64) int {
	const second = int64(1e9)
	buckets := map[int64]int{}
	peak := 0
	for _, at := range s.Attempts {
		if at < from || at >= to {
			continue
		}
		b := (at - from) / second
		buckets[b]++
		peak = max(peak, buckets[b])
	}
	return peak
}
