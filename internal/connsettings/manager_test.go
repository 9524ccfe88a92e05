package connsettings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/persist"
)

// fakeClient is the Connector seam: it records tries and statuses, and a
// try succeeds unless try says otherwise.
type fakeClient struct {
	mu       sync.Mutex
	conn     opampclient.Connection
	tries    []opampclient.Connection
	statuses []string // "APPLYING h1", "FAILED h1: why"
	try      func(ctx context.Context, c opampclient.Connection) error
}

func (f *fakeClient) Connection() opampclient.Connection {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conn
}

func (f *fakeClient) TryConnection(ctx context.Context, c opampclient.Connection) error {
	f.mu.Lock()
	f.tries = append(f.tries, c)
	try := f.try
	f.mu.Unlock()
	if try != nil {
		if err := try(ctx, c); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.conn = c
	f.mu.Unlock()
	return nil
}

func (f *fakeClient) SetConnectionSettingsStatus(s *protobufs.ConnectionSettingsStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := strings.TrimPrefix(s.GetStatus().String(), "ConnectionSettingsStatuses_") + " " + string(s.GetLastConnectionSettingsHash())
	if s.GetErrorMessage() != "" {
		st += ": " + s.GetErrorMessage()
	}
	f.statuses = append(f.statuses, st)
	return nil
}

func (f *fakeClient) snapshot() (statuses []string, tries int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.statuses...), len(f.tries)
}

// waitStatuses waits until n statuses were reported and returns them.
func (f *fakeClient) waitStatuses(t *testing.T, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { s, _ := f.snapshot(); return len(s) >= n }, 5*time.Second, time.Millisecond)
	s, _ := f.snapshot()
	return s
}

func newTestManager(t *testing.T, f *fakeClient, mod func(*Settings)) (*Manager, persist.Store) {
	t.Helper()
	store := persist.NewMemory()
	s := Settings{Connector: f, Store: store, ComponentID: "opamp", Fingerprint: "fp", TryTimeout: 5 * time.Second}
	if mod != nil {
		mod(&s)
	}
	m := NewManager(s)
	m.Start()
	t.Cleanup(func() { require.NoError(t, m.Shutdown(context.Background())) })
	return m, s.Store
}

// waitTaken waits until no offer is pending: the goroutine took it (the
// next Receive cannot replace it), or Receive dropped it.
func (m *Manager) waitTaken(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.pending == nil
	}, 5*time.Second, time.Millisecond)
}

func offer(hash string, o *protobufs.OpAMPConnectionSettings) *protobufs.ConnectionSettingsOffers {
	return &protobufs.ConnectionSettingsOffers{Hash: []byte(hash), Opamp: o}
}

var errRefused = errors.New("connection refused by the test")

func TestManagerApplies(t *testing.T) {
	local := opampclient.Connection{URL: "ws://local/v1/opamp"}
	tests := []struct {
		name      string
		try       func(ctx context.Context, c opampclient.Connection) error
		timeout   time.Duration
		offer     *protobufs.OpAMPConnectionSettings
		want      []string // statuses, in order; a FAILED one by prefix
		wantTries int
		wantURL   string // the connection in use after
		persisted bool
	}{
		{name: "endpoint applied", offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://new/v1/opamp"},
			want: []string{"APPLYING h", "APPLIED h"}, wantTries: 1, wantURL: "ws://new/v1/opamp", persisted: true},
		{name: "headers applied", offer: &protobufs.OpAMPConnectionSettings{Headers: headers("Authorization", "Bearer x")},
			want: []string{"APPLYING h", "APPLIED h"}, wantTries: 1, wantURL: local.URL, persisted: true},
		{name: "bad field: FAILED naming it, no try", offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "https://new/v1/opamp"},
			want: []string{"APPLYING h", "FAILED h: opamp.destination_endpoint: "}, wantURL: local.URL},
		{name: "try refused: FAILED with why", offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://dead/v1/opamp"},
			try:  func(context.Context, opampclient.Connection) error { return errRefused },
			want: []string{"APPLYING h", "FAILED h: the offered connection failed: " + errRefused.Error()}, wantTries: 1, wantURL: local.URL},
		{name: "try without answer: FAILED after try_timeout", timeout: 50 * time.Millisecond,
			offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://silent/v1/opamp"},
			try:   func(ctx context.Context, _ opampclient.Connection) error { <-ctx.Done(); return ctx.Err() },
			want:  []string{"APPLYING h", "FAILED h: the offered connection failed: no connection within 50ms (connection_settings.try_timeout)"}, wantTries: 1, wantURL: local.URL},
		{name: "heartbeat only: APPLIED without a try", offer: &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 7},
			want: []string{"APPLIED h"}, wantURL: local.URL},
		{name: "nothing offered: APPLIED without a try", offer: &protobufs.OpAMPConnectionSettings{Headers: &protobufs.Headers{}},
			want: []string{"APPLIED h"}, wantURL: local.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeClient{conn: local, try: tt.try}
			var done []error
			m, store := newTestManager(t, f, func(s *Settings) {
				if tt.timeout > 0 {
					s.TryTimeout = tt.timeout
				}
				s.Done = func(_ *protobufs.OpAMPConnectionSettings, err error) { done = append(done, err) }
			})
			m.Receive(offer("h", tt.offer))
			f.waitStatuses(t, len(tt.want))
			require.NoError(t, m.Shutdown(context.Background())) // nothing more comes
			got, tries := f.snapshot()
			require.Len(t, got, len(tt.want), "%q", got)
			for i, w := range tt.want {
				assert.True(t, strings.HasPrefix(got[i], w), "status %d: %q, want %q", i, got[i], w)
			}
			assert.Equal(t, tt.wantTries, tries)
			assert.Equal(t, tt.wantURL, f.Connection().URL)
			rec, err := Load(store, "opamp", "fp")
			require.NoError(t, err)
			if !tt.persisted {
				assert.Nil(t, rec)
				return
			}
			require.NotNil(t, rec)
			assert.Equal(t, []byte("h"), rec.Hash)
			assert.Equal(t, "fp", rec.Fingerprint)
			require.Len(t, done, 1)
			assert.NoError(t, done[0])
		})
	}
}

// TestManagerSameHash: an offer whose hash was handled already, in this
// run or accepted before the restart, changes nothing.
func TestManagerSameHash(t *testing.T) {
	f := &fakeClient{conn: opampclient.Connection{URL: "ws://b/v1/opamp"}}
	accepted := &Record{Settings: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://b/v1/opamp"}, Hash: []byte("before"), Fingerprint: "fp"}
	m, store := newTestManager(t, f, func(s *Settings) { s.Accepted = accepted })

	m.Receive(offer("before", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://b/v1/opamp"}))
	m.waitTaken(t)
	m.Receive(offer("a", &protobufs.OpAMPConnectionSettings{Headers: headers("X-A", "a")}))
	f.waitStatuses(t, 2)
	for range 3 {
		m.Receive(offer("a", &protobufs.OpAMPConnectionSettings{Headers: headers("X-A", "changed")}))
		m.waitTaken(t)
	}
	m.Receive(offer("failed", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "nope"}))
	f.waitStatuses(t, 4)
	m.Receive(offer("failed", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://c/v1/opamp"}))
	m.waitTaken(t)
	m.Receive(offer("z", &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 3})) // a marker
	f.waitStatuses(t, 5)
	require.NoError(t, m.Shutdown(context.Background()))
	got, tries := f.snapshot()
	assert.Equal(t, []string{"APPLYING a", "APPLIED a", "APPLYING failed", "FAILED failed: opamp.destination_endpoint: " + opampclient.ErrEndpoint.Error(), "APPLIED z"}, got)
	assert.Equal(t, 1, tries)
	assert.Equal(t, "a", f.Connection().Header.Get("X-A"))

	// The record is the accepted settings overlaid: the endpoint from
	// before the restart, the header from now.
	rec, err := Load(store, "opamp", "fp")
	require.NoError(t, err)
	assert.Equal(t, "ws://b/v1/opamp", rec.Settings.GetDestinationEndpoint())
	assert.Equal(t, []string{"X-A"}, HeaderNames(rec.Settings.GetHeaders()))
	assert.Equal(t, []byte("a"), rec.Hash)
}

// TestManagerLatestWins: of the offers arriving during a try, only the
// latest is applied next; the hash in force arriving again cancels a
// pending one.
func TestManagerLatestWins(t *testing.T) {
	tests := []struct {
		name  string
		after []string // hashes received while "a" is being tried
		want  []string
	}{
		{name: "latest pending wins", after: []string{"b", "c", "d"},
			want: []string{"APPLYING a", "APPLIED a", "APPLYING d", "APPLIED d"}},
		{name: "the hash being applied cancels the pending one", after: []string{"b", "a"},
			want: []string{"APPLYING a", "APPLIED a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			started, release := make(chan struct{}, 10), make(chan struct{})
			f := &fakeClient{conn: opampclient.Connection{URL: "ws://local/v1/opamp"}}
			f.try = func(context.Context, opampclient.Connection) error {
				started <- struct{}{}
				<-release
				return nil
			}
			m, _ := newTestManager(t, f, nil)
			m.Receive(offer("a", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://a/v1/opamp"}))
			<-started
			for _, h := range tt.after {
				m.Receive(offer(h, &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://" + h + "/v1/opamp"}))
			}
			close(release)
			f.waitStatuses(t, len(tt.want))
			m.Receive(offer("mark", &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 1}))
			got := f.waitStatuses(t, len(tt.want)+1)
			assert.Equal(t, append(tt.want, "APPLIED mark"), got)
			_, tries := f.snapshot()
			assert.Equal(t, len(tt.want)/2, tries)
		})
	}
}

// TestManagerShutdown: Shutdown cancels a try under way and reports
// nothing more; it is bounded when a try ignores its context; it may come
// twice, or without Start; offers after it are dropped.
func TestManagerShutdown(t *testing.T) {
	t.Run("during a try", func(t *testing.T) {
		f := &fakeClient{conn: opampclient.Connection{URL: "ws://local/v1/opamp"}}
		started := make(chan struct{})
		f.try = func(ctx context.Context, _ opampclient.Connection) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
		called := false
		m, store := newTestManager(t, f, func(s *Settings) {
			s.TryTimeout = time.Hour
			s.Done = func(*protobufs.OpAMPConnectionSettings, error) { called = true }
		})
		m.Receive(offer("a", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://a/v1/opamp"}))
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		require.NoError(t, m.Shutdown(ctx))
		assert.Less(t, time.Since(start), time.Second)
		require.NoError(t, m.Shutdown(ctx), "twice")
		m.Receive(offer("b", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://b/v1/opamp"}))
		got, tries := f.snapshot()
		assert.Equal(t, []string{"APPLYING a"}, got, "no FAILED for a try Shutdown cut short")
		assert.Equal(t, 1, tries)
		assert.False(t, called)
		rec, err := Load(store, "opamp", "fp")
		require.NoError(t, err)
		assert.Nil(t, rec)
	})
	t.Run("a try that ignores its context", func(t *testing.T) {
		f := &fakeClient{conn: opampclient.Connection{URL: "ws://local/v1/opamp"}}
		started, release := make(chan struct{}), make(chan struct{})
		f.try = func(context.Context, opampclient.Connection) error { close(started); <-release; return nil }
		m, _ := newTestManager(t, f, nil)
		m.Receive(offer("a", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://a/v1/opamp"}))
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, m.Shutdown(ctx), context.DeadlineExceeded)
		close(release) // the cleanup's Shutdown then waits for the goroutine
	})
	t.Run("without Start", func(t *testing.T) {
		m := NewManager(Settings{Connector: &fakeClient{}})
		m.Receive(offer("a", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://a/v1/opamp"}))
		require.NoError(t, m.Shutdown(context.Background()))
		m.Start() // after Shutdown: nothing runs
		require.NoError(t, m.Shutdown(context.Background()))
	})
}

// TestManagerLogsNoSecrets: header values and keys reach neither a log
// nor a status; header names are logged.
func TestManagerLogsNoSecrets(t *testing.T) {
	p := newPEMs(t)
	core, logs := observer.New(zap.DebugLevel)
	const secret = "Bearer s3cr3t-token"
	f := &fakeClient{conn: opampclient.Connection{URL: "wss://127.0.0.1/v1/opamp"}}
	f.try = func(context.Context, opampclient.Connection) error { return fmt.Errorf("dial: %w", errRefused) }
	m, _ := newTestManager(t, f, func(s *Settings) { s.Logger = zap.New(core) })
	secrets := &protobufs.OpAMPConnectionSettings{
		Headers:     headers("Authorization", secret),
		Certificate: &protobufs.TLSCertificate{Cert: p.clientCert, PrivateKey: p.clientKey},
		Proxy:       &protobufs.ProxyConnectionSettings{Url: "http://user:pw-s3cr3t@p:3128", ConnectHeaders: headers("Proxy-Authorization", secret)},
	}
	m.Receive(offer("a", secrets))
	f.waitStatuses(t, 2)
	bad := proto.Clone(secrets).(*protobufs.OpAMPConnectionSettings)
	bad.Certificate.PrivateKey = p.serverKey
	m.Receive(offer("b", bad))
	f.waitStatuses(t, 4)
	require.NoError(t, m.Shutdown(context.Background()))

	statuses, _ := f.snapshot()
	all := strings.Join(statuses, "\n")
	for _, e := range logs.All() {
		all += "\n" + e.Message
		for k, v := range e.ContextMap() {
			all += fmt.Sprintf("\n%s=%v", k, v)
		}
	}
	assert.Contains(t, all, "Authorization", "header names are logged")
	assert.Contains(t, all, "Proxy-Authorization")
	for _, s := range []string{"s3cr3t", "PRIVATE KEY", string(p.clientKey[30:60])} {
		assert.NotContains(t, all, s)
	}
}
