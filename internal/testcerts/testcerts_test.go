package testcerts

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block, "no PEM block in %s", path)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

func TestNewCertificates(t *testing.T) {
	tests := []struct {
		name      string
		opts      []Option
		wantValid bool
		wantHost  string
	}{
		{name: "default", wantValid: true, wantHost: "localhost"},
		{name: "expired", opts: []Option{Expired()}, wantValid: false, wantHost: "localhost"},
		{name: "wrong host", opts: []Option{WrongHost()}, wantValid: true, wantHost: WrongHostName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(t, tt.opts...)
			srv := readCert(t, b.ServerCertFile)
			cli := readCert(t, b.ClientCertFile)

			now := time.Now()
			assert.Equal(t, tt.wantValid, now.After(srv.NotBefore) && now.Before(srv.NotAfter))
			assert.NoError(t, srv.VerifyHostname(tt.wantHost))
			if tt.wantHost != "localhost" {
				assert.Error(t, srv.VerifyHostname("127.0.0.1"))
			} else {
				assert.NoError(t, srv.VerifyHostname("127.0.0.1"))
			}

			_, err := cli.Verify(x509.VerifyOptions{
				Roots:     b.CAPool(),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			})
			assert.NoError(t, err, "client certificate must chain to the CA")
			_, err = tls.LoadX509KeyPair(b.ClientCertFile, b.ClientKeyFile)
			assert.NoError(t, err)
			assert.Equal(t, b.Dir, filepath.Dir(b.CAFile))
		})
	}
}

func TestServerTLSConfigHandshake(t *testing.T) {
	b := New(t)
	clientCert, err := tls.LoadX509KeyPair(b.ClientCertFile, b.ClientKeyFile)
	require.NoError(t, err)

	tests := []struct {
		name       string
		requireCli bool
		present    bool
		wantErr    bool
	}{
		{name: "server auth only", requireCli: false, present: false},
		{name: "mTLS with client cert", requireCli: true, present: true},
		{name: "mTLS without client cert", requireCli: true, present: false, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}))
			srv.TLS = b.ServerTLSConfig(tt.requireCli)
			srv.StartTLS()
			defer srv.Close()

			cfg := &tls.Config{RootCAs: b.CAPool(), MinVersion: tls.VersionTLS12}
			if tt.present {
				cfg.Certificates = []tls.Certificate{clientCert}
			}
			tr := &http.Transport{TLSClientConfig: cfg}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
			if tt.wantErr {
				var opErr *net.OpError
				require.ErrorAs(t, err, &opErr)
				assert.Equal(t, "remote error", opErr.Op, "the server must reject the handshake")
				return
			}
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		})
	}
}
