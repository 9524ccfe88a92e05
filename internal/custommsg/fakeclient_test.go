package custommsg

import (
	"slices"
	"sync"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
)

var _ Client = (*fakeClient)(nil)

// fakeClient mimics the parts of opamp-go's client the registry relies on:
// it refuses messages for capabilities it was not told about and reports a
// pending message with the pending message's channel.
type fakeClient struct {
	mu        sync.Mutex
	pushes    [][]string
	current   []string
	sent      []*protobufs.CustomMessage
	pending   chan struct{} // non-nil: SendCustomMessage reports a pending message
	setErr    error         // returned once by the next SetCustomCapabilities
	sendCount int
}

func (f *fakeClient) SetCustomCapabilities(c *protobufs.CustomCapabilities) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.setErr; err != nil {
		f.setErr = nil
		return err
	}
	caps := slices.Clone(c.GetCapabilities())
	f.pushes = append(f.pushes, caps)
	f.current = caps
	return nil
}

func (f *fakeClient) SendCustomMessage(m *protobufs.CustomMessage) (chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendCount++
	if !slices.Contains(f.current, m.GetCapability()) {
		return nil, types.ErrCustomCapabilityNotSupported
	}
	if f.pending != nil {
		return f.pending, types.ErrCustomMessagePending
	}
	f.sent = append(f.sent, m)
	done := make(chan struct{})
	close(done)
	return done, nil
}

func (f *fakeClient) pushed() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pushes)
}

func (f *fakeClient) lastPush() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pushes) == 0 {
		return nil
	}
	return f.pushes[len(f.pushes)-1]
}

func (f *fakeClient) sentMessages() []*protobufs.CustomMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}
