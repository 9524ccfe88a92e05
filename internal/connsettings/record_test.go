package connsettings

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/persist"
)

func TestKey(t *testing.T) {
	for id, want := range map[string]string{
		"opamp":        "connection_settings.opamp",
		"opamp/edge":   "connection_settings.opamp_edge",
		"opamp/a b:c":  "connection_settings.opamp_a_b_c",
		"opamp/x-1.y_": "connection_settings.opamp_x-1.y_",
	} {
		assert.Equal(t, want, Key(id), id)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	p := newPEMs(t)
	dir, err := persist.NewDir(filepath.Join(t.TempDir(), "state"))
	require.NoError(t, err)
	settings := &protobufs.OpAMPConnectionSettings{
		DestinationEndpoint: "wss://new.example/v1/opamp",
		Headers:             headers("Authorization", "Bearer t"),
		Certificate:         &protobufs.TLSCertificate{Cert: p.clientCert, PrivateKey: p.clientKey},
		Tls:                 &protobufs.TLSConnectionSettings{CaPemContents: string(p.ca), MinVersion: "1.3"},
		Proxy:               &protobufs.ProxyConnectionSettings{Url: "http://p:3128"},
	}
	require.NoError(t, Save(dir, "opamp/edge", Record{Settings: settings, Hash: []byte{1, 2, 3}, Fingerprint: "fp1"}))

	again, err := persist.NewDir(dir.Path()) // the next process
	require.NoError(t, err)
	rec, err := Load(again, "opamp/edge", "fp1")
	require.NoError(t, err)
	require.NotNil(t, rec)
	assert.True(t, proto.Equal(settings, rec.Settings))
	assert.Equal(t, []byte{1, 2, 3}, rec.Hash)
	assert.Equal(t, "fp1", rec.Fingerprint)

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(dir.Path(), "connection_settings.opamp_edge"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "it holds a private key")
	}

	none, err := Load(again, "opamp", "fp1")
	require.NoError(t, err)
	assert.Nil(t, none, "another component has no record")
}

// TestRecordFingerprintChange: a changed local file wins, and the record is
// gone for good (going back to the old file does not revive it).
func TestRecordFingerprintChange(t *testing.T) {
	store := persist.NewMemory()
	rec := Record{Settings: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://b/v1/opamp"}, Hash: []byte{9}, Fingerprint: "old"}
	require.NoError(t, Save(store, "opamp", rec))
	got, err := Load(store, "opamp", "new")
	require.NoError(t, err)
	assert.Nil(t, got)
	got, err = Load(store, "opamp", "old")
	require.NoError(t, err)
	assert.Nil(t, got, "dropped")
}

func TestRecordCorrupt(t *testing.T) {
	dir, err := persist.NewDir(t.TempDir())
	require.NoError(t, err)
	for name, data := range map[string]string{
		"not JSON":      "{nope",
		"other version": `{"version":2,"fingerprint":"fp"}`,
		"not a proto":   `{"version":1,"fingerprint":"fp","settings":"/////w=="}`,
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, dir.Put(Key("opamp"), []byte(data)))
			rec, err := Load(dir, "opamp", "fp")
			assert.Nil(t, rec)
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Contains(t, err.Error(), filepath.Join(dir.Path(), "connection_settings.opamp"))

			conn, rec, err := Restore(dir, "opamp", "fp", opampclient.Connection{URL: "ws://local/v1/opamp"}, false, Options{})
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Nil(t, rec)
			assert.Equal(t, "ws://local/v1/opamp", conn.URL, "the agent starts on its local settings")
		})
	}
}

func TestRestore(t *testing.T) {
	p := newPEMs(t)
	local := opampclient.Connection{URL: "wss://127.0.0.1:1/v1/opamp", Header: http.Header{"X-Local": {"l"}}}
	settings := &protobufs.OpAMPConnectionSettings{
		Headers:     headers("Authorization", "Bearer t"),
		Certificate: &protobufs.TLSCertificate{Cert: p.clientCert, PrivateKey: p.clientKey},
	}
	tests := []struct {
		name        string
		fingerprint string
		opts        Options
		wantRecord  bool
		wantErr     bool
	}{
		{name: "accepted settings over local", fingerprint: "fp", wantRecord: true},
		{name: "local settings changed", fingerprint: "other"},
		{name: "certificate expired while down", fingerprint: "fp", wantErr: true,
			opts: Options{Now: func() time.Time { return time.Now().Add(48 * time.Hour) }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := persist.NewMemory()
			require.NoError(t, Save(store, "opamp", Record{Settings: settings, Hash: []byte("h"), Fingerprint: "fp"}))
			conn, rec, err := Restore(store, "opamp", tt.fingerprint, local, false, tt.opts)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrExpired)
			} else {
				require.NoError(t, err)
			}
			if !tt.wantRecord {
				assert.Nil(t, rec)
				assert.Equal(t, local, conn)
				return
			}
			require.NotNil(t, rec)
			assert.Equal(t, []byte("h"), rec.Hash)
			assert.Equal(t, "Bearer t", conn.Header.Get("Authorization"))
			assert.Equal(t, "l", conn.Header.Get("X-Local"))
			require.Len(t, conn.TLS.Certificates, 1)
		})
	}
}

// TestOverlayMatchesMerge: restarting on the overlay of accepted offers
// gives the connection the offers gave one after the other.
func TestOverlayMatchesMerge(t *testing.T) {
	p, other := newPEMs(t), newPEMs(t)
	local := opampclient.Connection{
		URL:    "wss://local.example/v1/opamp",
		Header: http.Header{"Authorization": {"local"}, "X-Local": {"l"}},
		TLS:    &tls.Config{MinVersion: tls.VersionTLS12, ServerName: "local.example"},
	}
	tlsOf := func(ts *protobufs.TLSConnectionSettings) *protobufs.OpAMPConnectionSettings {
		return &protobufs.OpAMPConnectionSettings{Tls: ts}
	}
	tests := []struct {
		name string
		a, b *protobufs.OpAMPConnectionSettings
	}{
		{name: "endpoint then headers",
			a: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "wss://a.example/v1/opamp"},
			b: &protobufs.OpAMPConnectionSettings{Headers: headers("authorization", "b", "X-B", "b")}},
		{name: "headers twice",
			a: &protobufs.OpAMPConnectionSettings{Headers: headers("X-A", "a", "X-Both", "a")},
			b: &protobufs.OpAMPConnectionSettings{Headers: headers("x-both", "b")}},
		{name: "certificate rotated",
			a: &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: other.clientCert, PrivateKey: other.clientKey}},
			b: &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: p.clientCert, PrivateKey: p.clientKey}}},
		{name: "CA then versions",
			a: tlsOf(&protobufs.TLSConnectionSettings{CaPemContents: string(p.ca), IncludeSystemCaCertsPool: true, InsecureSkipVerify: true}),
			b: tlsOf(&protobufs.TLSConnectionSettings{MinVersion: "1.3", CipherSuites: []string{"TLS_AES_128_GCM_SHA256"}})},
		{name: "a new CA without the system pool",
			a: tlsOf(&protobufs.TLSConnectionSettings{CaPemContents: string(p.ca), IncludeSystemCaCertsPool: true}),
			b: tlsOf(&protobufs.TLSConnectionSettings{CaPemContents: string(other.ca)})},
		{name: "include_system without a CA says nothing",
			a: tlsOf(&protobufs.TLSConnectionSettings{CaPemContents: string(p.ca)}),
			b: tlsOf(&protobufs.TLSConnectionSettings{IncludeSystemCaCertsPool: true})},
		{name: "proxy then its headers",
			a: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{Url: "http://p:3128", ConnectHeaders: headers("X-P", "a")}},
			b: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{ConnectHeaders: headers("X-Q", "b")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mid, err := Merge(local, tt.a, false, Options{})
			require.NoError(t, err)
			seq, err := Merge(mid, tt.b, false, Options{})
			require.NoError(t, err)
			aBefore := proto.Clone(tt.a)
			once, err := Merge(local, Overlay(tt.a, tt.b), false, Options{})
			require.NoError(t, err)
			assert.True(t, proto.Equal(aBefore, tt.a), "Overlay modifies nothing")
			assertSameConnection(t, seq, once)
		})
	}
}

func assertSameConnection(t *testing.T, want, got opampclient.Connection) {
	t.Helper()
	assert.Equal(t, want.URL, got.URL)
	assert.Equal(t, want.Header, got.Header)
	assert.Equal(t, want.ProxyURL, got.ProxyURL)
	assert.Equal(t, want.ProxyHeader, got.ProxyHeader)
	w, g := want.TLS, got.TLS
	assert.Equal(t, w.ServerName, g.ServerName)
	assert.Equal(t, w.MinVersion, g.MinVersion)
	assert.Equal(t, w.MaxVersion, g.MaxVersion)
	assert.Equal(t, w.CipherSuites, g.CipherSuites)
	assert.Equal(t, w.InsecureSkipVerify, g.InsecureSkipVerify)
	assert.True(t, w.RootCAs.Equal(g.RootCAs), "roots")
	assert.Equal(t, w.Certificates, g.Certificates)
}
