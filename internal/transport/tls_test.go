package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/opampext/opampextension/internal/testcerts"
)

// tlsCfg builds a ClientConfig from the defaults, as the config package does.
func tlsCfg(mut func(*configtls.ClientConfig)) configtls.ClientConfig {
	c := configtls.NewDefaultClientConfig()
	if mut != nil {
		mut(&c)
	}
	return c
}

func TestValidateEndpointTLS(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		cfg      configtls.ClientConfig
		wantErr  bool
	}{
		{name: "ws without tls block", endpoint: "ws://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(nil)},
		{name: "ws insecure", endpoint: "ws://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.Insecure = true })},
		{name: "ws insecure false", endpoint: "ws://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.Insecure = false })},
		{name: "http skip verify", endpoint: "http://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.InsecureSkipVerify = true })},
		{name: "ws ca_file", endpoint: "ws://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = "ca.pem" }), wantErr: true},
		{name: "ws insecure with ca_pem", endpoint: "ws://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.Insecure = true; c.CAPem = "pem" }), wantErr: true},
		{name: "http cert and key", endpoint: "http://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CertFile = "c.pem"; c.KeyFile = "k.pem" }), wantErr: true},
		{name: "http key_pem", endpoint: "http://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.KeyPem = "pem" }), wantErr: true},
		{name: "wss ca_file", endpoint: "wss://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = "ca.pem" })},
		{name: "https cert and key", endpoint: "https://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CertPem = "c"; c.KeyPem = "k" })},
		{name: "bad endpoint left to ValidateEndpoint", endpoint: "", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = "ca.pem" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateEndpointTLS(tt.endpoint, tt.cfg)
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, errTLSIgnored)
			scheme, _, _ := strings.Cut(tt.endpoint, ":")
			assert.Contains(t, err.Error(), scheme+"s://", "the error must suggest the secure scheme")
		})
	}
}

func TestLoadTLSPlaintext(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		cfg      configtls.ClientConfig
		wantErr  error
	}{
		{name: "ws without tls block", endpoint: "ws://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(nil)},
		{name: "ws insecure (Supervisor)", endpoint: "ws://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.Insecure = true })},
		{name: "http skip verify", endpoint: "http://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.InsecureSkipVerify = true })},
		{name: "ws ca_file", endpoint: "ws://127.0.0.1:4320/v1/opamp", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = "ca.pem" }), wantErr: errTLSIgnored},
		{name: "bad endpoint", endpoint: "127.0.0.1:4320", cfg: tlsCfg(nil), wantErr: errMissingScheme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadTLS(context.Background(), tt.endpoint, tt.cfg)
			assert.Nil(t, got, "plaintext endpoints must never get a TLS config")
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			assert.NoError(t, err)
		})
	}
}

func TestLoadTLSMissingCAFile(t *testing.T) {
	cfg := tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = filepath.Join(t.TempDir(), "missing.pem") })
	got, err := LoadTLS(context.Background(), "wss://127.0.0.1:4320/v1/opamp", cfg)
	assert.Nil(t, got)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestSkipsVerify(t *testing.T) {
	assert.False(t, SkipsVerify(tlsCfg(nil)))
	assert.True(t, SkipsVerify(tlsCfg(func(c *configtls.ClientConfig) { c.InsecureSkipVerify = true })))
}

// startTLSServer serves 204 over TLS with the given configuration.
func startTLSServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// get performs one request with tlsConfig as the extension's HTTP client does.
func get(t *testing.T, url string, tlsConfig *tls.Config) error {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: tlsConfig}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unexpected status %d", resp.StatusCode)
	}
	return nil
}

func TestLoadTLSHandshake(t *testing.T) {
	good := testcerts.New(t)
	other := testcerts.New(t)
	expired := testcerts.New(t, testcerts.Expired())
	wrongHost := testcerts.New(t, testcerts.WrongHost())

	unknownAuthority := func(t *testing.T, err error) {
		var target x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &target)
	}
	tests := []struct {
		name    string
		server  *tls.Config
		scheme  string
		cfg     configtls.ClientConfig
		checkFn func(*testing.T, error) // nil: the request must succeed
	}{
		{name: "wss with CA", server: good.ServerTLSConfig(false), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = good.CAFile })},
		{name: "https with CA, insecure ignored", server: good.ServerTLSConfig(false), scheme: "https", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = good.CAFile; c.Insecure = true })},
		{name: "wrong CA", server: good.ServerTLSConfig(false), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = other.CAFile }), checkFn: unknownAuthority},
		{name: "insecure without CA still verifies against system pool", server: good.ServerTLSConfig(false), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.Insecure = true }), checkFn: unknownAuthority},
		{name: "skip verify accepts wrong CA", server: good.ServerTLSConfig(false), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = other.CAFile; c.InsecureSkipVerify = true })},
		{name: "mTLS with client cert", server: good.ServerTLSConfig(true), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) {
			c.CAFile, c.CertFile, c.KeyFile = good.CAFile, good.ClientCertFile, good.ClientKeyFile
		})},
		{name: "mTLS without client cert", server: good.ServerTLSConfig(true), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = good.CAFile }), checkFn: func(t *testing.T, err error) {
			var opErr *net.OpError
			require.ErrorAs(t, err, &opErr)
			assert.Equal(t, "remote error", opErr.Op, "the server must reject the handshake")
		}},
		{name: "expired server certificate", server: expired.ServerTLSConfig(false), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = expired.CAFile }), checkFn: func(t *testing.T, err error) {
			var target x509.CertificateInvalidError
			require.ErrorAs(t, err, &target)
			assert.Equal(t, x509.Expired, target.Reason)
		}},
		{name: "wrong-host server certificate", server: wrongHost.ServerTLSConfig(false), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) { c.CAFile = wrongHost.CAFile }), checkFn: func(t *testing.T, err error) {
			var target x509.HostnameError
			assert.ErrorAs(t, err, &target)
		}},
		{name: "server_name_override matches wrong-host certificate", server: wrongHost.ServerTLSConfig(false), scheme: "wss", cfg: tlsCfg(func(c *configtls.ClientConfig) {
			c.CAFile, c.ServerName = wrongHost.CAFile, testcerts.WrongHostName
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := startTLSServer(t, tt.server)
			endpoint := tt.scheme + strings.TrimPrefix(url, "https") + "/v1/opamp"
			tlsConfig, err := LoadTLS(context.Background(), endpoint, tt.cfg)
			require.NoError(t, err)
			require.NotNil(t, tlsConfig, "secure endpoints must always get a TLS config")
			err = get(t, url, tlsConfig)
			if tt.checkFn == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			tt.checkFn(t, err)
		})
	}
}

// TestLoadTLSKeepsCertReload checks that configtls's reload_interval survives
// LoadTLS: a replaced client certificate is presented at the next handshake.
func TestLoadTLSKeepsCertReload(t *testing.T) {
	first, second := testcerts.New(t), testcerts.New(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	install := func(b *testcerts.Bundle) {
		for src, dst := range map[string]string{b.ClientCertFile: certFile, b.ClientKeyFile: keyFile} {
			data, err := os.ReadFile(src)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(dst, data, 0o600))
		}
	}
	leaf := func(b *testcerts.Bundle) []byte {
		pair, err := tls.LoadX509KeyPair(b.ClientCertFile, b.ClientKeyFile)
		require.NoError(t, err)
		return pair.Certificate[0]
	}

	install(first)
	cfg := tlsCfg(func(c *configtls.ClientConfig) {
		c.CertFile, c.KeyFile, c.ReloadInterval = certFile, keyFile, time.Millisecond
	})
	tlsConfig, err := LoadTLS(context.Background(), "https://127.0.0.1:4320/v1/opamp", cfg)
	require.NoError(t, err)
	require.NotNil(t, tlsConfig.GetClientCertificate, "the reloading hook must be kept")

	got, err := tlsConfig.GetClientCertificate(&tls.CertificateRequestInfo{})
	require.NoError(t, err)
	assert.Equal(t, leaf(first), got.Certificate[0])

	install(second)
	require.Eventually(t, func() bool {
		got, err := tlsConfig.GetClientCertificate(&tls.CertificateRequestInfo{})
		return err == nil && string(got.Certificate[0]) == string(leaf(second))
	}, 5*time.Second, 5*time.Millisecond)
}
