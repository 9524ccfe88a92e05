package connsettings

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"

	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/persist"
)

// Record is the accepted connection settings of one extension instance,
// kept in the state directory under Key(component id) so that they
// survive a restart and override the local file's server settings until
// that file's server settings change.
type Record struct {
	// Settings is every accepted offer, overlaid in order (Overlay):
	// merged onto the local connection it gives the connection in use.
	// A certificate completed with the agent's own key is kept without
	// the key (the key's keeper persists it).
	Settings *protobufs.OpAMPConnectionSettings
	// Hash is the hash of the last accepted offer: the status reported as
	// APPLIED after a restart.
	Hash []byte
	// Fingerprint identifies the local file's server settings the record
	// was accepted over; the root computes it.
	Fingerprint string
}

// onDisk is the file's form: JSON around the settings' proto bytes, so
// that the file says what it is and the settings keep every field.
type onDisk struct {
	Version     int    `json:"version"`
	Hash        []byte `json:"hash"`
	Fingerprint string `json:"fingerprint"`
	Settings    []byte `json:"settings"`
}

const recordVersion = 1

// ErrCorrupt: the record on disk does not read; it is treated as no
// record (the agent starts on its local settings).
var ErrCorrupt = errors.New("the accepted connection settings do not read; starting on the local settings")

// Key is the store key of a component's record: "connection_settings."
// and the component id with what a file name may not hold replaced by _
// ("opamp/edge" → "connection_settings.opamp_edge").
func Key(componentID string) string { return persist.KeyFor("connection_settings", componentID) }

// Save writes rec atomically (persist.Dir: 0600, rename).
func Save(store persist.Store, componentID string, rec Record) error {
	settings, err := proto.Marshal(rec.Settings)
	if err != nil {
		return fmt.Errorf("connsettings: %w", err)
	}
	b, err := json.Marshal(onDisk{Version: recordVersion, Hash: rec.Hash, Fingerprint: rec.Fingerprint, Settings: settings})
	if err != nil {
		return fmt.Errorf("connsettings: %w", err)
	}
	return store.Put(Key(componentID), b)
}

// Load returns the record, or nil when there is none or it was accepted
// over other local server settings than localFingerprint: the local file
// changed, its settings win again, and the record is dropped (so that
// going back to the old file does not bring it back). A record that does
// not read is an error wrapping ErrCorrupt that names the file, and no
// record.
func Load(store persist.Store, componentID, localFingerprint string) (*Record, error) {
	key := Key(componentID)
	b, ok, err := store.Get(key)
	if err != nil {
		return nil, fmt.Errorf("connsettings: %w", err)
	}
	if !ok || len(b) == 0 {
		return nil, nil
	}
	var d onDisk
	settings := &protobufs.OpAMPConnectionSettings{}
	if err := json.Unmarshal(b, &d); err != nil || d.Version != recordVersion {
		return nil, corrupt(store, key, err)
	}
	if err := proto.Unmarshal(d.Settings, settings); err != nil {
		return nil, corrupt(store, key, err)
	}
	if d.Fingerprint != localFingerprint {
		return nil, drop(store, key)
	}
	return &Record{Settings: settings, Hash: d.Hash, Fingerprint: d.Fingerprint}, nil
}

// drop empties the record: the Store has no delete, and an empty value
// reads as no record.
func drop(store persist.Store, key string) error {
	if err := store.Put(key, nil); err != nil {
		return fmt.Errorf("connsettings: dropping the accepted settings: %w", err)
	}
	return nil
}

func corrupt(store persist.Store, key string, cause error) error {
	name := key
	if d, ok := store.(interface{ Path() string }); ok {
		name = filepath.Join(d.Path(), key)
	}
	if cause == nil {
		cause = errors.New("unknown version")
	}
	return fmt.Errorf("connsettings: %s: %w: %w", name, ErrCorrupt, cause)
}

// Restore is the start-up step: it loads the record and merges it onto the
// local connection. It returns local and a nil record when there is none,
// when the local settings changed, or when the record no longer merges (a
// certificate that expired while the agent was down, say); the error then
// says why, for a warning, and the agent starts on local. With a record,
// the root reports its Hash as APPLIED and gives it to the Manager.
func Restore(store persist.Store, componentID, localFingerprint string, local opampclient.Connection, httpPolling bool, opts Options) (opampclient.Connection, *Record, error) {
	rec, err := Load(store, componentID, localFingerprint)
	if rec == nil {
		return local, nil, err
	}
	conn, err := Merge(local, rec.Settings, httpPolling, opts)
	if err != nil {
		return local, nil, fmt.Errorf("connsettings: the accepted connection settings no longer apply, starting on the local settings: %w", err)
	}
	return conn, rec, nil
}

// Overlay returns the settings of accepting next after prev, field by
// field with Merge's rules, so that Merge(local, Overlay(a, b)) is the
// connection Merge(Merge(local, a), b) gave. Neither input is modified.
func Overlay(prev, next *protobufs.OpAMPConnectionSettings) *protobufs.OpAMPConnectionSettings {
	out := &protobufs.OpAMPConnectionSettings{}
	if prev != nil {
		out = proto.Clone(prev).(*protobufs.OpAMPConnectionSettings)
	}
	if next == nil {
		return out
	}
	if ep := next.GetDestinationEndpoint(); ep != "" {
		out.DestinationEndpoint = ep
	}
	out.Headers = overlayHeaders(out.Headers, next.GetHeaders())
	if c := next.GetCertificate(); c != nil {
		out.Certificate = proto.Clone(c).(*protobufs.TLSCertificate)
	}
	if s := next.GetHeartbeatIntervalSeconds(); s != 0 {
		out.HeartbeatIntervalSeconds = s
	}
	if t := next.GetTls(); t != nil {
		out.Tls = overlayTLS(out.Tls, t)
	}
	if p := next.GetProxy(); p != nil {
		if out.Proxy == nil {
			out.Proxy = &protobufs.ProxyConnectionSettings{}
		}
		if u := p.GetUrl(); u != "" {
			out.Proxy.Url = u
		}
		out.Proxy.ConnectHeaders = overlayHeaders(out.Proxy.ConnectHeaders, p.GetConnectHeaders())
	}
	return out
}

// overlayTLS: ca_pem_contents and include_system_ca_certs_pool go
// together (the flag only means something with a CA), insecure_skip_verify
// is always the latest, the rest replace when set.
func overlayTLS(prev, next *protobufs.TLSConnectionSettings) *protobufs.TLSConnectionSettings {
	out := &protobufs.TLSConnectionSettings{}
	if prev != nil {
		out = proto.Clone(prev).(*protobufs.TLSConnectionSettings)
	}
	if next.GetCaPemContents() != "" {
		out.CaPemContents = next.GetCaPemContents()
		out.IncludeSystemCaCertsPool = next.GetIncludeSystemCaCertsPool()
	}
	out.InsecureSkipVerify = next.GetInsecureSkipVerify()
	if v := next.GetMinVersion(); v != "" {
		out.MinVersion = v
	}
	if v := next.GetMaxVersion(); v != "" {
		out.MaxVersion = v
	}
	if len(next.GetCipherSuites()) > 0 {
		out.CipherSuites = append([]string(nil), next.GetCipherSuites()...)
	}
	return out
}

// overlayHeaders sets next's headers over prev's, key by key (keys
// compared as HTTP compares them).
func overlayHeaders(prev, next *protobufs.Headers) *protobufs.Headers {
	if len(next.GetHeaders()) == 0 {
		return prev
	}
	out := &protobufs.Headers{}
	if prev != nil {
		out = proto.Clone(prev).(*protobufs.Headers)
	}
	for _, h := range next.GetHeaders() {
		key := http.CanonicalHeaderKey(h.GetKey())
		out.Headers = slices.DeleteFunc(out.Headers, func(o *protobufs.Header) bool {
			return http.CanonicalHeaderKey(o.GetKey()) == key
		})
		out.Headers = append(out.Headers, &protobufs.Header{Key: h.GetKey(), Value: h.GetValue()})
	}
	return out
}
