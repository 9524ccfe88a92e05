package conformance

import (
	"sync"

	"github.com/opampext/opampextension/internal/opampclient"
)

// discardLog is the agent's Observer: it counts what the conformance
// tests read of the client's own telemetry.
type discardLog struct {
	mu                      sync.Mutex
	connected, failed, sent int
	received                int
	discarded               []opampclient.Kind
}

var _ opampclient.Observer = (*discardLog)(nil)

func (d *discardLog) with(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f()
}

func (d *discardLog) Connected()                   { d.with(func() { d.connected++ }) }
func (d *discardLog) Disconnected()                {}
func (d *discardLog) ConnectFailed()               { d.with(func() { d.failed++ }) }
func (d *discardLog) Dialed()                      {}
func (d *discardLog) MessageSent(opampclient.Kind) { d.with(func() { d.sent++ }) }
func (d *discardLog) MessageReceived()             { d.with(func() { d.received++ }) }
func (d *discardLog) BytesSent(int)                {}
func (d *discardLog) BytesReceived(int)            {}

// ReportDiscarded implements opampclient.DiscardObserver.
func (d *discardLog) ReportDiscarded(k opampclient.Kind) {
	d.with(func() { d.discarded = append(d.discarded, k) })
}

// discardedKinds counts the reports left out, by kind.
func (d *discardLog) discardedKinds() map[opampclient.Kind]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[opampclient.Kind]int{}
	for _, k := range d.discarded {
		out[k]++
	}
	return out
}
