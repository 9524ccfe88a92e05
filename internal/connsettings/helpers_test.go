package connsettings

import (
	"crypto"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testcerts"
)

// pems are a testcerts bundle's files, read.
type pems struct {
	b                                                *testcerts.Bundle
	ca, serverCert, serverKey, clientCert, clientKey []byte
}

func newPEMs(t *testing.T, opts ...testcerts.Option) pems {
	t.Helper()
	b := testcerts.New(t, opts...)
	read := func(path string) []byte {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		return data
	}
	return pems{b: b, ca: read(b.CAFile), serverCert: read(b.ServerCertFile), serverKey: read(b.ServerKeyFile),
		clientCert: read(b.ClientCertFile), clientKey: read(b.ClientKeyFile)}
}

// clientSigner is the bundle's client key, as a KeySource holds it.
func (p pems) clientSigner(t *testing.T) crypto.Signer {
	t.Helper()
	kp, err := tls.X509KeyPair(p.clientCert, p.clientKey)
	require.NoError(t, err)
	return kp.PrivateKey.(crypto.Signer)
}

// handshake makes one HTTPS request with client against a real TLS server
// configured by server, and returns the request's error.
func handshake(t *testing.T, server, client *tls.Config) error {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = server
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()
	tr := &http.Transport{TLSClientConfig: client, ForceAttemptHTTP2: false}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// fieldErrors lists every FieldError in err's tree.
func fieldErrors(err error) map[string]error {
	out := map[string]error{}
	var walk func(error)
	walk = func(e error) {
		// A walk of the tree itself: errors.As would stop at the first.
		switch u := e.(type) { //nolint:errorlint // see above
		case *FieldError:
			out[u.Field] = u.Err
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
