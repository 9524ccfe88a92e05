package certrotate

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompleteAcceptsTheCASignedCertificate(t *testing.T) {
	ca := newCA(t)
	r := newRotator(t, nil, newClock())
	offered := ca.sign(t, request(t, r, nil), certOpts{})

	certPEM, keyPEM, err := r.Complete(offered)
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err, "the certificate and key do not make a TLS pair")
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	assert.Equal(t, testID.InstanceUID, leaf.Subject.CommonName)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: pool(ca.cert), CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
}

func TestCompleteKeepsTheChainDropsTheRest(t *testing.T) {
	ca := newCA(t)
	r := newRotator(t, nil, newClock())
	leaf := ca.sign(t, request(t, r, nil), certOpts{})
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	junk := pem.EncodeToMemory(&pem.Block{Type: "COMMENT", Bytes: []byte("x")})
	certPEM, _, err := r.Complete(bytes.Join([][]byte{junk, leaf, caPEM}, nil))
	require.NoError(t, err)
	assert.Equal(t, append(append([]byte(nil), leaf...), caPEM...), certPEM)
}

func TestCompleteRefuses(t *testing.T) {
	ca := newCA(t)
	for _, tc := range []struct {
		name string
		cert func(t *testing.T, r *Rotator) []byte
		want error
	}{
		{"a certificate for another key", func(t *testing.T, r *Rotator) []byte {
			return ca.sign(t, request(t, r, nil), certOpts{pub: &genKey(t).PublicKey})
		}, ErrWrongKey},
		{"an expired certificate", func(t *testing.T, r *Rotator) []byte {
			return ca.sign(t, request(t, r, nil), certOpts{notBefore: t0.Add(-48 * time.Hour), notAfter: t0.Add(-time.Second)})
		}, ErrNotValid},
		{"a certificate ending now", func(t *testing.T, r *Rotator) []byte {
			return ca.sign(t, request(t, r, nil), certOpts{notAfter: t0})
		}, ErrNotValid},
		{"a certificate valid only later than the clock skew", func(t *testing.T, r *Rotator) []byte {
			return ca.sign(t, request(t, r, nil), certOpts{notBefore: t0.Add(notBeforeSkew + time.Second)})
		}, ErrNotValid},
		{"a server-only certificate", func(t *testing.T, r *Rotator) []byte {
			return ca.sign(t, request(t, r, nil), certOpts{usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		}, ErrNotClientCert},
		{"no certificate", func(t *testing.T, r *Rotator) []byte {
			request(t, r, nil)
			return []byte("not PEM")
		}, ErrBadCertificate},
		{"a certificate that does not parse", func(t *testing.T, r *Rotator) []byte {
			request(t, r, nil)
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
		}, ErrBadCertificate},
		{"no request pending", func(t *testing.T, r *Rotator) []byte {
			other := newRotator(t, nil, newClock())
			return ca.sign(t, request(t, other, nil), certOpts{})
		}, ErrNoRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRotator(t, nil, newClock())
			cert := tc.cert(t, r)
			certPEM, keyPEM, err := r.Complete(cert)
			require.ErrorIs(t, err, tc.want)
			assert.Nil(t, certPEM)
			assert.Nil(t, keyPEM)
			assertNoKeyIn(t, r, err.Error())
			// A refused offer leaves the round open: the next request, after
			// the interval, is for the same key.
			assert.Equal(t, !errors.Is(tc.want, ErrNoRequest), r.Pending())
		})
	}
}

func TestCompleteAcceptsANotBeforeWithinTheClockSkew(t *testing.T) {
	ca := newCA(t)
	r := newRotator(t, nil, newClock())
	offered := ca.sign(t, request(t, r, nil), certOpts{notBefore: t0.Add(notBeforeSkew - time.Second)})
	_, _, err := r.Complete(offered)
	require.NoError(t, err)
}

func TestCompleteAcceptsEveryClientUsage(t *testing.T) {
	ca := newCA(t)
	for _, usage := range [][]x509.ExtKeyUsage{
		{},
		{x509.ExtKeyUsageAny},
		{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	} {
		r := newRotator(t, nil, newClock())
		_, _, err := r.Complete(ca.sign(t, request(t, r, nil), certOpts{usage: usage}))
		require.NoError(t, err, "%v", usage)
	}
}

// assertNoKeyIn fails when s holds any of r's private keys, in PEM, in
// its base64 body or as the raw scalar (hex or base64).
func assertNoKeyIn(t *testing.T, r *Rotator, s string) {
	t.Helper()
	for _, k := range r.keys.Load() {
		if k == nil {
			continue
		}
		b, err := encodeKey(k)
		require.NoError(t, err)
		blk, _ := pem.Decode(b)
		raw, err := k.Bytes()
		require.NoError(t, err)
		for _, secret := range []string{string(b), base64.StdEncoding.EncodeToString(blk.Bytes)[:32], hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw)} {
			assert.NotContains(t, s, secret)
		}
	}
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
