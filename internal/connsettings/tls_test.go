package connsettings

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/opampclient"
)

// TestMergeTLSHandshake proves every TLS field by a real handshake against
// a TLS server: the current configuration alone gives baseline, the merged
// one want, so each case shows the offer made the difference.
func TestMergeTLSHandshake(t *testing.T) {
	p, other := newPEMs(t), newPEMs(t)
	otherCert, err := tls.X509KeyPair(other.clientCert, other.clientKey)
	require.NoError(t, err)
	tls12Only := func(suites ...uint16) *tls.Config {
		cfg := p.b.ServerTLSConfig(false)
		cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS12, suites
		return cfg
	}
	certOffer := func(ca []byte) *protobufs.OpAMPConnectionSettings {
		return &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: p.clientCert, PrivateKey: p.clientKey, CaCert: ca}}
	}
	tlsOffer := func(ts *protobufs.TLSConnectionSettings) *protobufs.OpAMPConnectionSettings {
		return &protobufs.OpAMPConnectionSettings{Tls: ts}
	}
	tests := []struct {
		name     string
		server   *tls.Config
		current  *tls.Config
		offer    *protobufs.OpAMPConnectionSettings
		baseline bool // the current configuration's handshake succeeds
		want     bool
		check    func(t *testing.T, got *tls.Config)
	}{
		{
			name: "ca_pem_contents verifies the server", server: p.b.ServerTLSConfig(false),
			current: &tls.Config{MinVersion: tls.VersionTLS12},
			offer:   tlsOffer(&protobufs.TLSConnectionSettings{CaPemContents: string(p.ca)}),
			want:    true,
		},
		{
			name: "ca_pem_contents replaces the old CA", server: p.b.ServerTLSConfig(false),
			current: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: other.b.CAPool()},
			offer:   tlsOffer(&protobufs.TLSConnectionSettings{CaPemContents: string(p.ca)}),
			want:    true,
		},
		{
			name: "include_system_ca_certs_pool adds to the offered CA", server: p.b.ServerTLSConfig(false),
			current: &tls.Config{MinVersion: tls.VersionTLS12},
			offer:   tlsOffer(&protobufs.TLSConnectionSettings{CaPemContents: string(p.ca), IncludeSystemCaCertsPool: true}),
			want:    true,
			check: func(t *testing.T, got *tls.Config) {
				sys, err := x509.SystemCertPool()
				require.NoError(t, err)
				assert.False(t, got.RootCAs.Equal(p.b.CAPool()), "more than the offered CA")
				assert.False(t, got.RootCAs.Equal(sys), "more than the system pool")
			},
		},
		{
			name: "insecure_skip_verify", server: p.b.ServerTLSConfig(false),
			current: &tls.Config{MinVersion: tls.VersionTLS12},
			offer:   tlsOffer(&protobufs.TLSConnectionSettings{InsecureSkipVerify: true}),
			want:    true,
		},
		{
			name: "client certificate for mutual TLS", server: p.b.ServerTLSConfig(true),
			current: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.b.CAPool()},
			offer:   certOffer(nil),
			want:    true,
		},
		{
			name: "certificate replaces a reloading callback", server: p.b.ServerTLSConfig(true),
			current: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.b.CAPool(),
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &otherCert, nil }},
			offer: certOffer(nil),
			want:  true,
		},
		{
			name: "certificate with its ca_cert sends the chain", server: p.b.ServerTLSConfig(true),
			current: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.b.CAPool()},
			offer:   certOffer(p.ca),
			want:    true,
			check: func(t *testing.T, got *tls.Config) {
				require.Len(t, got.Certificates, 1)
				assert.Len(t, got.Certificates[0].Certificate, 2)
				assert.True(t, got.RootCAs.Equal(p.b.CAPool()), "ca_cert is not trusted for the server")
			},
		},
		{
			name: "min_version above the server's", server: tls12Only(),
			current:  &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.b.CAPool()},
			offer:    tlsOffer(&protobufs.TLSConnectionSettings{MinVersion: "1.3"}),
			baseline: true,
		},
		{
			name: "max_version below the server's", server: func() *tls.Config { c := p.b.ServerTLSConfig(false); c.MinVersion = tls.VersionTLS13; return c }(),
			current:  &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.b.CAPool()},
			offer:    tlsOffer(&protobufs.TLSConnectionSettings{MaxVersion: "1.2"}),
			baseline: true,
		},
		{
			name: "cipher suite the server lacks", server: tls12Only(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
			current:  &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.b.CAPool()},
			offer:    tlsOffer(&protobufs.TLSConnectionSettings{CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}}),
			baseline: true,
		},
		{
			name: "cipher suite the server has", server: tls12Only(tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
			current: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.b.CAPool(), CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
			offer:   tlsOffer(&protobufs.TLSConnectionSettings{CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}}),
			want:    true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := opampclient.Connection{URL: "wss://127.0.0.1/v1/opamp", TLS: tt.current}
			before := tt.current.Clone()
			got, err := Merge(current, tt.offer, false, Options{})
			require.NoError(t, err)
			require.NotSame(t, tt.current, got.TLS)
			assertOutcome(t, tt.baseline, handshake(t, tt.server, tt.current), "baseline (current)")
			assertOutcome(t, tt.want, handshake(t, tt.server, got.TLS), "merged")
			assert.Equal(t, before.Certificates, tt.current.Certificates, "current is not modified")
			assert.Equal(t, before.MinVersion, tt.current.MinVersion)
			assert.Equal(t, before.CipherSuites, tt.current.CipherSuites)
			assert.Equal(t, before.InsecureSkipVerify, tt.current.InsecureSkipVerify)
			assert.True(t, before.RootCAs.Equal(tt.current.RootCAs))
			if tt.check != nil {
				tt.check(t, got.TLS)
			}
		})
	}
}

func assertOutcome(t *testing.T, ok bool, err error, what string) {
	t.Helper()
	if ok {
		assert.NoError(t, err, what)
	} else {
		assert.Error(t, err, what)
	}
}
