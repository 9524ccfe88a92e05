package connsettings

import (
	"crypto"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/testcerts"
)

func headers(kv ...string) *protobufs.Headers {
	h := &protobufs.Headers{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Headers = append(h.Headers, &protobufs.Header{Key: kv[i], Value: kv[i+1]})
	}
	return h
}

func TestMergeFields(t *testing.T) {
	baseTLS := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: "old.example"}
	current := opampclient.Connection{
		URL:         "wss://old.example/v1/opamp",
		Header:      http.Header{"Authorization": {"Bearer old"}, "X-Keep": {"kept"}},
		TLS:         baseTLS,
		ProxyURL:    "http://proxy-old:3128",
		ProxyHeader: http.Header{"Proxy-Authorization": {"Basic old"}},
	}
	tests := []struct {
		name    string
		current opampclient.Connection
		polling bool
		offer   *protobufs.OpAMPConnectionSettings
		check   func(t *testing.T, got opampclient.Connection)
	}{
		{
			name:  "empty offer keeps everything",
			offer: &protobufs.OpAMPConnectionSettings{},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, current, got)
				assert.Same(t, baseTLS, got.TLS)
			},
		},
		{
			name:  "heartbeat only keeps everything",
			offer: &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 5},
			check: func(t *testing.T, got opampclient.Connection) { assert.Equal(t, current, got) },
		},
		{
			name:  "endpoint on the same host keeps the server name",
			offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "wss://OLD.example:4320/v2/opamp"},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, "wss://OLD.example:4320/v2/opamp", got.URL)
				assert.Same(t, baseTLS, got.TLS)
			},
		},
		{
			name:  "endpoint on another host drops the server name override",
			offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://new.example/v1/opamp"},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, "ws://new.example/v1/opamp", got.URL)
				assert.Empty(t, got.TLS.ServerName)
				assert.Equal(t, "old.example", baseTLS.ServerName, "current is not modified")
				assert.Equal(t, current.Header, got.Header)
			},
		},
		{
			name:    "http endpoint when polling",
			current: opampclient.Connection{URL: "http://old:4320/v1/opamp"},
			polling: true,
			offer:   &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "https://new:4320/v1/opamp"},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, "https://new:4320/v1/opamp", got.URL)
				assert.Nil(t, got.TLS)
			},
		},
		{
			name:  "headers set key by key",
			offer: &protobufs.OpAMPConnectionSettings{Headers: headers("authorization", "Bearer new", "X-New", "n")},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, http.Header{"Authorization": {"Bearer new"}, "X-Keep": {"kept"}, "X-New": {"n"}}, got.Header)
				assert.Equal(t, "Bearer old", current.Header.Get("Authorization"), "current is not modified")
			},
		},
		{
			name:    "headers onto none",
			current: opampclient.Connection{URL: "ws://a/v1/opamp"},
			offer:   &protobufs.OpAMPConnectionSettings{Headers: headers("X-Token", "t", "X-Empty", "")},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, http.Header{"X-Token": {"t"}, "X-Empty": {""}}, got.Header)
			},
		},
		{
			name: "proxy url and connect headers",
			offer: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{
				Url: "http://proxy-new:3128", ConnectHeaders: headers("Proxy-Authorization", "Basic new"),
			}},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, "http://proxy-new:3128", got.ProxyURL)
				assert.Equal(t, http.Header{"Proxy-Authorization": {"Basic new"}}, got.ProxyHeader)
				assert.Equal(t, "Basic old", current.ProxyHeader.Get("Proxy-Authorization"))
			},
		},
		{
			name:  "proxy headers only keep the proxy url",
			offer: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{ConnectHeaders: headers("X-P", "p")}},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, current.ProxyURL, got.ProxyURL)
				assert.Equal(t, "p", got.ProxyHeader.Get("X-P"))
				assert.Equal(t, "Basic old", got.ProxyHeader.Get("Proxy-Authorization"))
			},
		},
		{
			name:  "tls offered: a clone, current untouched",
			offer: &protobufs.OpAMPConnectionSettings{Tls: &protobufs.TLSConnectionSettings{MinVersion: "1.3", InsecureSkipVerify: true}},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.NotSame(t, baseTLS, got.TLS)
				assert.Equal(t, uint16(tls.VersionTLS13), got.TLS.MinVersion)
				assert.True(t, got.TLS.InsecureSkipVerify)
				assert.Equal(t, "old.example", got.TLS.ServerName)
				assert.Equal(t, uint16(tls.VersionTLS12), baseTLS.MinVersion)
				assert.False(t, baseTLS.InsecureSkipVerify)
			},
		},
		{
			name:    "tls offered over none: TLS 1.2 at least",
			current: opampclient.Connection{URL: "wss://a/v1/opamp"},
			offer:   &protobufs.OpAMPConnectionSettings{Tls: &protobufs.TLSConnectionSettings{MaxVersion: "1.2"}},
			check: func(t *testing.T, got opampclient.Connection) {
				require.NotNil(t, got.TLS)
				assert.Equal(t, uint16(tls.VersionTLS12), got.TLS.MinVersion)
				assert.Equal(t, uint16(tls.VersionTLS12), got.TLS.MaxVersion)
			},
		},
		{
			name:    "insecure_skip_verify false turns verification back on",
			current: opampclient.Connection{URL: "wss://a/v1/opamp", TLS: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the case under test
			offer:   &protobufs.OpAMPConnectionSettings{Tls: &protobufs.TLSConnectionSettings{}},
			check:   func(t *testing.T, got opampclient.Connection) { assert.False(t, got.TLS.InsecureSkipVerify) },
		},
		{
			name: "cipher suites",
			offer: &protobufs.OpAMPConnectionSettings{Tls: &protobufs.TLSConnectionSettings{
				CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
			}},
			check: func(t *testing.T, got opampclient.Connection) {
				assert.Equal(t, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, got.TLS.CipherSuites)
				assert.Nil(t, baseTLS.CipherSuites)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := current
			if tt.current.URL != "" {
				cur = tt.current
			}
			got, err := Merge(cur, tt.offer, tt.polling, Options{})
			require.NoError(t, err)
			tt.check(t, got)
		})
	}
}

// TestMergeErrors: every bad field is refused with its name, and the error
// never carries the value (a secret).
func TestMergeErrors(t *testing.T) {
	p, other, expired := newPEMs(t), newPEMs(t), newPEMs(t, testcerts.Expired())
	const secret = "s3cr3t-value"
	current := opampclient.Connection{URL: "wss://a.example/v1/opamp"}
	cert := func(c, k, ca []byte) *protobufs.OpAMPConnectionSettings {
		return &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: c, PrivateKey: k, CaCert: ca}}
	}
	tlsOffer := func(ts *protobufs.TLSConnectionSettings) *protobufs.OpAMPConnectionSettings {
		return &protobufs.OpAMPConnectionSettings{Tls: ts}
	}
	garbage := []byte("-----BEGIN CERTIFICATE-----\nAAAA" + secret + "\n-----END CERTIFICATE-----\n")
	garbageKey := []byte("-----BEGIN PRIVATE KEY-----\nAAAA" + secret + "\n-----END PRIVATE KEY-----\n")
	tests := []struct {
		name    string
		polling bool
		current opampclient.Connection
		opts    Options
		offer   *protobufs.OpAMPConnectionSettings
		want    map[string]error // field -> sentinel (nil: any error)
	}{
		{name: "endpoint not a URL", offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "::" + secret},
			want: map[string]error{"opamp.destination_endpoint": opampclient.ErrEndpoint}},
		{name: "endpoint scheme", offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ftp://a/" + secret},
			want: map[string]error{"opamp.destination_endpoint": opampclient.ErrEndpoint}},
		{name: "endpoint changes transport", offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "https://a/" + secret},
			want: map[string]error{"opamp.destination_endpoint": opampclient.ErrTransportChange}},
		{name: "endpoint changes transport when polling", polling: true, offer: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "wss://a/" + secret},
			want: map[string]error{"opamp.destination_endpoint": opampclient.ErrTransportChange}},
		{name: "header name", offer: &protobufs.OpAMPConnectionSettings{Headers: headers("a b", secret)},
			want: map[string]error{"opamp.headers": nil}},
		{name: "empty header name", offer: &protobufs.OpAMPConnectionSettings{Headers: headers("", secret)},
			want: map[string]error{"opamp.headers": nil}},
		{name: "header value", offer: &protobufs.OpAMPConnectionSettings{Headers: headers("Authorization", secret+"\r\nX: y")},
			want: map[string]error{"opamp.headers": nil}},
		{name: "header the WebSocket handshake sets", offer: &protobufs.OpAMPConnectionSettings{Headers: headers("upgrade", secret)},
			want: map[string]error{"opamp.headers": nil}},
		{name: "one header twice", offer: &protobufs.OpAMPConnectionSettings{Headers: headers("X-A", secret, "x-a", secret)},
			want: map[string]error{"opamp.headers": nil}},
		{name: "proxy scheme", offer: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{Url: "ftp://u:" + secret + "@p:21"}},
			want: map[string]error{"opamp.proxy.url": nil}},
		{name: "proxy without host", offer: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{Url: secret}},
			want: map[string]error{"opamp.proxy.url": nil}},
		{name: "socks5 proxy without port", offer: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{Url: "socks5://u:" + secret + "@p"}},
			want: map[string]error{"opamp.proxy.url": nil}},
		{name: "proxy header", offer: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{Url: "http://p:3128", ConnectHeaders: headers("Proxy-Authorization", "\n"+secret)}},
			want: map[string]error{"opamp.proxy.connect_headers": nil}},
		{name: "https proxy under WebSocket", offer: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{Url: "https://p:3128"}},
			want: map[string]error{"opamp.proxy": nil}},
		{name: "headers for a socks5 proxy", offer: &protobufs.OpAMPConnectionSettings{Proxy: &protobufs.ProxyConnectionSettings{Url: "socks5://p:1080", ConnectHeaders: headers("Proxy-Authorization", secret)}},
			want: map[string]error{"opamp.proxy": nil}},
		{name: "endpoint moved under a proxy that cannot carry it", polling: true,
			current: opampclient.Connection{URL: "https://a/v1/opamp", ProxyURL: "http://p:3128", ProxyHeader: http.Header{"Proxy-Authorization": {secret}}},
			offer:   &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "http://b/v1/opamp"},
			want:    map[string]error{"opamp.proxy": nil}},
		{name: "no cert", offer: cert(nil, p.clientKey, nil), want: map[string]error{"opamp.certificate.cert": ErrNoPEM}},
		{name: "cert garbage", offer: cert(garbage, p.clientKey, nil), want: map[string]error{"opamp.certificate.cert": nil}},
		{name: "no key, no key source", offer: cert(p.clientCert, nil, nil), want: map[string]error{"opamp.certificate.private_key": ErrNoKey}},
		{name: "no key, the source has none", offer: cert(p.clientCert, nil, nil),
			opts: Options{Key: func(crypto.PublicKey) (crypto.Signer, bool) { return nil, false }},
			want: map[string]error{"opamp.certificate.private_key": ErrNoKey}},
		{name: "no key, the source's key is another", offer: cert(p.clientCert, nil, nil),
			opts: Options{Key: func(crypto.PublicKey) (crypto.Signer, bool) { return other.clientSigner(t), true }},
			want: map[string]error{"opamp.certificate": ErrKeyMismatch}},
		{name: "key not PEM", offer: cert(p.clientCert, []byte(secret), nil), want: map[string]error{"opamp.certificate.private_key": ErrNoPEM}},
		{name: "key garbage", offer: cert(p.clientCert, garbageKey, nil), want: map[string]error{"opamp.certificate.private_key": nil}},
		{name: "key of another certificate", offer: cert(p.clientCert, p.serverKey, nil), want: map[string]error{"opamp.certificate": ErrKeyMismatch}},
		{name: "expired", offer: cert(expired.serverCert, expired.serverKey, nil), want: map[string]error{"opamp.certificate": ErrExpired}},
		{name: "not yet valid", offer: cert(p.clientCert, p.clientKey, nil),
			opts: Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }},
			want: map[string]error{"opamp.certificate": ErrNotYetValid}},
		{name: "a server certificate", offer: cert(p.serverCert, p.serverKey, nil), want: map[string]error{"opamp.certificate": ErrNotClientCert}},
		{name: "ca_cert did not issue it", offer: cert(p.clientCert, p.clientKey, other.ca), want: map[string]error{"opamp.certificate.ca_cert": ErrNotIssuer}},
		{name: "ca_cert not PEM", offer: cert(p.clientCert, p.clientKey, []byte(secret)), want: map[string]error{"opamp.certificate.ca_cert": ErrNoPEM}},
		{name: "tls ca not PEM", offer: tlsOffer(&protobufs.TLSConnectionSettings{CaPemContents: secret}), want: map[string]error{"opamp.tls.ca_pem_contents": ErrNoPEM}},
		{name: "tls ca garbage", offer: tlsOffer(&protobufs.TLSConnectionSettings{CaPemContents: string(garbage)}), want: map[string]error{"opamp.tls.ca_pem_contents": nil}},
		{name: "min_version", offer: tlsOffer(&protobufs.TLSConnectionSettings{MinVersion: "1.4"}), want: map[string]error{"opamp.tls.min_version": ErrTLSVersion}},
		{name: "max_version", offer: tlsOffer(&protobufs.TLSConnectionSettings{MaxVersion: "TLSv1.2"}), want: map[string]error{"opamp.tls.max_version": ErrTLSVersion}},
		{name: "min above max", offer: tlsOffer(&protobufs.TLSConnectionSettings{MinVersion: "1.3", MaxVersion: "1.2"}), want: map[string]error{"opamp.tls": ErrVersionRange}},
		{name: "unknown cipher suite", offer: tlsOffer(&protobufs.TLSConnectionSettings{CipherSuites: []string{"TLS_NOPE"}}), want: map[string]error{"opamp.tls.cipher_suites": ErrCipherSuite}},
		{name: "insecure cipher suite", offer: tlsOffer(&protobufs.TLSConnectionSettings{CipherSuites: []string{"TLS_RSA_WITH_RC4_128_SHA"}}), want: map[string]error{"opamp.tls.cipher_suites": ErrInsecureSuite}},
		{
			name: "every bad field at once",
			offer: &protobufs.OpAMPConnectionSettings{
				DestinationEndpoint: "nope", Headers: headers("a b", secret),
				Certificate: &protobufs.TLSCertificate{Cert: p.clientCert, PrivateKey: p.serverKey},
				Tls:         &protobufs.TLSConnectionSettings{MinVersion: "2"},
				Proxy:       &protobufs.ProxyConnectionSettings{Url: "nope"},
			},
			want: map[string]error{
				"opamp.destination_endpoint": opampclient.ErrEndpoint, "opamp.headers": nil,
				"opamp.certificate": ErrKeyMismatch, "opamp.tls.min_version": ErrTLSVersion, "opamp.proxy.url": nil,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := current
			if tt.current.URL != "" {
				cur = tt.current
			}
			got, err := Merge(cur, tt.offer, tt.polling, tt.opts)
			require.Error(t, err)
			assert.Equal(t, cur, got, "a refused offer returns current")
			fields := fieldErrors(err)
			assert.Len(t, fields, len(tt.want), "%v", err)
			for field, sentinel := range tt.want {
				require.Contains(t, fields, field, "%v", err)
				if sentinel != nil {
					assert.ErrorIs(t, fields[field], sentinel)
				}
				assert.Contains(t, err.Error(), field+": ")
			}
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), "BEGIN")
		})
	}
}

// TestMergeKeySource: a certificate offered without private_key is
// completed with the agent's key for its public key.
func TestMergeKeySource(t *testing.T) {
	p := newPEMs(t)
	var asked crypto.PublicKey
	opts := Options{Key: func(pub crypto.PublicKey) (crypto.Signer, bool) { asked = pub; return p.clientSigner(t), true }}
	offer := &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: p.clientCert}}
	got, err := Merge(opampclient.Connection{URL: "wss://127.0.0.1/v1/opamp"}, offer, false, opts)
	require.NoError(t, err)
	require.Len(t, got.TLS.Certificates, 1)
	assert.True(t, p.clientSigner(t).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(asked))
	got.TLS.RootCAs = p.b.CAPool()
	assert.NoError(t, handshake(t, p.b.ServerTLSConfig(true), got.TLS))
}
