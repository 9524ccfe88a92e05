package remoteconfig

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testcerts"
)

func dest(endpoint string) *protobufs.TelemetryConnectionSettings {
	return &protobufs.TelemetryConnectionSettings{DestinationEndpoint: endpoint}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestApplyOffer: what an offers message does to the layer before it, and
// what it is refused for before anything changes.
func TestApplyOffer(t *testing.T) {
	certs := testcerts.New(t)
	ca, cert, key := readFile(t, certs.CAFile), readFile(t, certs.ClientCertFile), readFile(t, certs.ClientKeyFile)
	prev := &OwnTelemetry{Hash: []byte("old"), Destinations: map[Signal]Destination{
		SignalMetrics: {Endpoint: "https://old.example/v1/metrics"},
		SignalLogs:    {Endpoint: "https://old.example/v1/logs"},
	}}
	for _, tc := range []struct {
		name    string
		offers  *protobufs.ConnectionSettingsOffers
		want    map[Signal]Destination
		wantErr bool
	}{
		{
			name: "unset parts keep their destination, a set one replaces it",
			offers: &protobufs.ConnectionSettingsOffers{OwnMetrics: &protobufs.TelemetryConnectionSettings{
				DestinationEndpoint: "https://new.example:4318/v1/metrics",
				Headers:             &protobufs.Headers{Headers: []*protobufs.Header{{Key: "Authorization", Value: "Bearer t"}}},
			}},
			want: map[Signal]Destination{
				SignalMetrics: {Endpoint: "https://new.example:4318/v1/metrics", Headers: []Header{{"Authorization", "Bearer t"}}, IntervalMS: 1500},
				SignalLogs:    {Endpoint: "https://old.example/v1/logs"},
			},
		},
		{
			name:   "an empty endpoint removes the destination",
			offers: &protobufs.ConnectionSettingsOffers{OwnLogs: dest(""), OwnTraces: dest("http://127.0.0.1:4318/v1/traces")},
			want: map[Signal]Destination{
				SignalMetrics: {Endpoint: "https://old.example/v1/metrics"},
				SignalTraces:  {Endpoint: "http://127.0.0.1:4318/v1/traces"},
			},
		},
		{
			name: "CA and client certificate",
			offers: &protobufs.ConnectionSettingsOffers{OwnTraces: &protobufs.TelemetryConnectionSettings{
				DestinationEndpoint: "https://127.0.0.1:4318/v1/traces",
				Tls:                 &protobufs.TLSConnectionSettings{CaPemContents: ca},
				Certificate:         &protobufs.TLSCertificate{Cert: []byte(cert), PrivateKey: []byte(key)},
			}},
			want: map[Signal]Destination{
				SignalMetrics: {Endpoint: "https://old.example/v1/metrics"},
				SignalLogs:    {Endpoint: "https://old.example/v1/logs"},
				SignalTraces:  {Endpoint: "https://127.0.0.1:4318/v1/traces", CAPEM: ca, CertPEM: cert, KeyPEM: key},
			},
		},
		{name: "not a URL", offers: &protobufs.ConnectionSettingsOffers{OwnMetrics: dest("not a url")}, wantErr: true},
		{name: "not http", offers: &protobufs.ConnectionSettingsOffers{OwnMetrics: dest("ftp://h/v1/metrics")}, wantErr: true},
		{name: "no host", offers: &protobufs.ConnectionSettingsOffers{OwnMetrics: dest("https:///v1/metrics")}, wantErr: true},
		{name: "bad header", offers: &protobufs.ConnectionSettingsOffers{OwnLogs: &protobufs.TelemetryConnectionSettings{
			DestinationEndpoint: "https://h/v1/logs",
			Headers:             &protobufs.Headers{Headers: []*protobufs.Header{{Key: "X\r\nY", Value: "v"}}},
		}}, wantErr: true},
		{name: "proxy", offers: &protobufs.ConnectionSettingsOffers{OwnLogs: &protobufs.TelemetryConnectionSettings{
			DestinationEndpoint: "https://h/v1/logs", Proxy: &protobufs.ProxyConnectionSettings{Url: "http://proxy:3128"},
		}}, wantErr: true},
		{name: "insecure_skip_verify", offers: &protobufs.ConnectionSettingsOffers{OwnLogs: &protobufs.TelemetryConnectionSettings{
			DestinationEndpoint: "https://h/v1/logs", Tls: &protobufs.TLSConnectionSettings{InsecureSkipVerify: true},
		}}, wantErr: true},
		{name: "min_version", offers: &protobufs.ConnectionSettingsOffers{OwnLogs: &protobufs.TelemetryConnectionSettings{
			DestinationEndpoint: "https://h/v1/logs", Tls: &protobufs.TLSConnectionSettings{MinVersion: "1.3"},
		}}, wantErr: true},
		{name: "CA beside the system pool", offers: &protobufs.ConnectionSettingsOffers{OwnLogs: &protobufs.TelemetryConnectionSettings{
			DestinationEndpoint: "https://h/v1/logs", Tls: &protobufs.TLSConnectionSettings{CaPemContents: ca, IncludeSystemCaCertsPool: true},
		}}, wantErr: true},
		{name: "CA that is no PEM", offers: &protobufs.ConnectionSettingsOffers{OwnLogs: &protobufs.TelemetryConnectionSettings{
			DestinationEndpoint: "https://h/v1/logs", Tls: &protobufs.TLSConnectionSettings{CaPemContents: "junk"},
		}}, wantErr: true},
		{name: "certificate without its key", offers: &protobufs.ConnectionSettingsOffers{OwnLogs: &protobufs.TelemetryConnectionSettings{
			DestinationEndpoint: "https://h/v1/logs", Certificate: &protobufs.TLSCertificate{Cert: []byte(cert)},
		}}, wantErr: true},
		{name: "TLS over http", offers: &protobufs.ConnectionSettingsOffers{OwnLogs: &protobufs.TelemetryConnectionSettings{
			DestinationEndpoint: "http://h/v1/logs", Tls: &protobufs.TLSConnectionSettings{CaPemContents: ca},
		}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.offers.Hash = []byte("new")
			got, err := applyOffer(prev, tc.offers, 1500*time.Millisecond)
			if tc.wantErr {
				require.Error(t, err)
				assert.True(t, errors.Is(err, ErrOwnTelemetry), "wraps ErrOwnTelemetry: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []byte("new"), got.Hash)
			assert.Equal(t, tc.want, got.Destinations)
			assert.Len(t, prev.Destinations, 2, "the previous layer is not changed")
		})
	}
}

// TestOwnFiles: certificates are written 0600 under names by content, and
// removed once no layer kept names them.
func TestOwnFiles(t *testing.T) {
	dir := t.TempDir()
	d := Destination{Endpoint: "https://h/v1/metrics", CAPEM: "ca-pem", CertPEM: "cert-pem", KeyPEM: "key-pem"}
	own := &OwnTelemetry{Destinations: map[Signal]Destination{SignalMetrics: d}}
	require.NoError(t, writeOwnFiles(dir, own))
	otlp := d.otlp(dir, SignalMetrics)
	for field, body := range map[string]string{"certificate": "ca-pem", "client_certificate": "cert-pem", "client_key": "key-pem"} {
		path, _ := otlp[field].(string)
		assert.Equal(t, body, readFile(t, path), field)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), field)
	}
	require.NoError(t, removeOwnFiles(dir, own))
	names, _ := filepath.Glob(filepath.Join(dir, "own-*"))
	assert.Len(t, names, 3, "files of a kept layer stay")
	require.NoError(t, removeOwnFiles(dir, nil))
	names, _ = filepath.Glob(filepath.Join(dir, "own-*"))
	assert.Empty(t, names)
}
