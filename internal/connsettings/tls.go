package connsettings

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/pemcert"
)

// mergeTLS returns the TLS configuration of offer over current: current
// itself when the offer has neither certificate nor tls, else a clone of
// current (a TLS 1.2 minimum when current is nil) with the offer applied.
//
// certificate: cert (PEM, the leaf first, intermediates after) and
// private_key (PEM: PKCS #8, PKCS #1 or SEC 1) become the one client
// certificate (its extended key usage must allow client authentication), replacing whatever current presents, a reloading callback
// of the local config included. Without private_key, Options.Key may
// supply the agent's own key. A certificate outside its validity window
// is refused (5 minutes of clock skew allowed before it starts). ca_cert, when offered, must have issued the certificate and
// is sent with it, but it is not trusted for the server: the specification
// advises against taking it as an authority, and a client CA is often not
// the CA of the server's certificate.
//
// tls: ca_pem_contents replaces the roots the server is verified with
// (together with the system pool when include_system_ca_certs_pool; that
// flag says nothing without ca_pem_contents). insecure_skip_verify is
// taken as offered, false included: proto3 cannot tell false from left
// out, and false is the reading that keeps verifying. min_version and
// max_version ("1.0" to "1.3") and cipher_suites (Go's names of secure
// suites; they bind TLS 1.2 and below) replace the current ones when set.
func mergeTLS(current *tls.Config, offer *protobufs.OpAMPConnectionSettings, opts Options) (*tls.Config, error) {
	cert, ts := offer.GetCertificate(), offer.GetTls()
	if cert == nil && ts == nil {
		return current, nil
	}
	var next *tls.Config
	if current != nil {
		next = current.Clone()
	} else {
		next = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	var errs []error
	if cert != nil {
		if c, err := clientCertificate(cert, opts); err != nil {
			errs = append(errs, err)
		} else {
			next.Certificates = []tls.Certificate{c}
			next.GetClientCertificate = nil
		}
	}
	if ts != nil {
		errs = append(errs, applyTLSSettings(next, ts))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return next, nil
}

func applyTLSSettings(cfg *tls.Config, ts *protobufs.TLSConnectionSettings) error {
	var errs []error
	if ca := ts.GetCaPemContents(); ca != "" {
		pool := x509.NewCertPool()
		if ts.GetIncludeSystemCaCertsPool() {
			sys, err := x509.SystemCertPool()
			if err != nil {
				errs = append(errs, fieldErr("opamp.tls.include_system_ca_certs_pool", err))
			} else {
				pool = sys
			}
		}
		certs, err := parseCerts([]byte(ca))
		if err != nil {
			errs = append(errs, fieldErr("opamp.tls.ca_pem_contents", err))
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
		cfg.RootCAs = pool
	}
	cfg.InsecureSkipVerify = ts.GetInsecureSkipVerify()
	if v := ts.GetMinVersion(); v != "" {
		if n, ok := tlsVersions[v]; ok {
			cfg.MinVersion = n
		} else {
			errs = append(errs, fieldErr("opamp.tls.min_version", ErrTLSVersion))
		}
	}
	if v := ts.GetMaxVersion(); v != "" {
		if n, ok := tlsVersions[v]; ok {
			cfg.MaxVersion = n
		} else {
			errs = append(errs, fieldErr("opamp.tls.max_version", ErrTLSVersion))
		}
	}
	if cfg.MaxVersion != 0 && cfg.MinVersion > cfg.MaxVersion {
		errs = append(errs, fieldErr("opamp.tls", ErrVersionRange))
	}
	if names := ts.GetCipherSuites(); len(names) > 0 {
		ids, err := cipherSuites(names)
		if err != nil {
			errs = append(errs, fieldErr("opamp.tls.cipher_suites", err))
		}
		cfg.CipherSuites = ids
	}
	return errors.Join(errs...)
}

var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10,
	"1.1": tls.VersionTLS11,
	"1.2": tls.VersionTLS12,
	"1.3": tls.VersionTLS13,
}

func cipherSuites(names []string) ([]uint16, error) {
	secure := map[string]uint16{}
	for _, s := range tls.CipherSuites() {
		secure[s.Name] = s.ID
	}
	insecure := map[string]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.Name] = true
	}
	ids := make([]uint16, 0, len(names))
	var errs []error
	for _, n := range names {
		switch id, ok := secure[n]; {
		case ok:
			ids = append(ids, id)
		case insecure[n]:
			errs = append(errs, fmt.Errorf("%q: %w", n, ErrInsecureSuite))
		default:
			errs = append(errs, fmt.Errorf("%q: %w", n, ErrCipherSuite))
		}
	}
	return ids, errors.Join(errs...)
}

// clientCertificate checks an offered certificate and pairs it with its key.
func clientCertificate(offered *protobufs.TLSCertificate, opts Options) (tls.Certificate, error) {
	chain, err := parseCerts(offered.GetCert())
	if err != nil {
		return tls.Certificate{}, fieldErr("opamp.certificate.cert", err)
	}
	leaf := chain[0]
	now := opts.now()
	if now.Add(notBeforeSkew).Before(leaf.NotBefore) {
		return tls.Certificate{}, fieldErr("opamp.certificate", fmt.Errorf("%w: from %s", ErrNotYetValid, leaf.NotBefore.UTC().Format("2006-01-02T15:04:05Z")))
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, fieldErr("opamp.certificate", fmt.Errorf("%w: on %s", ErrExpired, leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z")))
	}
	if !forClientAuth(leaf) {
		return tls.Certificate{}, fieldErr("opamp.certificate", ErrNotClientCert)
	}
	if ca := offered.GetCaCert(); len(ca) > 0 {
		if chain, err = withIssuer(chain, ca); err != nil {
			return tls.Certificate{}, err
		}
	}
	key, err := privateKey(offered.GetPrivateKey(), leaf, opts.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	out := tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range chain {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}

// notBeforeSkew is how far ahead of the agent's clock an offered
// certificate may start: its issuer stamped it by the server's clock, and
// the server checks it by that clock too.
const notBeforeSkew = 5 * time.Minute

// forClientAuth: the certificate's extended key usage, if any, allows
// client authentication (a server would refuse it otherwise).
func forClientAuth(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	return slices.ContainsFunc(c.ExtKeyUsage, func(u x509.ExtKeyUsage) bool {
		return u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny
	})
}

// withIssuer checks that ca_cert issued the offered chain (signed its
// last certificate) and appends it, so that a proxy or server that wants
// the whole chain gets it.
func withIssuer(chain []*x509.Certificate, caPEM []byte) ([]*x509.Certificate, error) {
	cas, err := parseCerts(caPEM)
	if err != nil {
		return nil, fieldErr("opamp.certificate.ca_cert", err)
	}
	top := chain[len(chain)-1]
	for _, ca := range cas {
		if top.CheckSignatureFrom(ca) == nil {
			return append(chain, cas...), nil
		}
	}
	return nil, fieldErr("opamp.certificate.ca_cert", ErrNotIssuer)
}

// privateKey parses the offered key, or asks source for the agent's own,
// and checks it belongs to leaf.
func privateKey(keyPEM []byte, leaf *x509.Certificate, source KeySource) (crypto.Signer, error) {
	var key crypto.Signer
	if len(keyPEM) == 0 {
		ok := false
		if source != nil {
			key, ok = source(leaf.PublicKey)
		}
		if !ok || key == nil {
			return nil, fieldErr("opamp.certificate.private_key", ErrNoKey)
		}
	} else {
		var err error
		if key, err = parseKey(keyPEM); err != nil {
			return nil, fieldErr("opamp.certificate.private_key", err)
		}
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, fieldErr("opamp.certificate", ErrKeyMismatch)
	}
	return key, nil
}

// parseCerts returns every CERTIFICATE block of data, at least one.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	certs, err := pemcert.Parse(data)
	if errors.Is(err, pemcert.ErrNone) {
		return nil, fmt.Errorf("%w (CERTIFICATE)", ErrNoPEM)
	}
	return certs, err
}

// parseKey reads the first private key block. Parse errors are not
// wrapped: their text could quote key bytes.
func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%w (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", ErrNoPEM)
		}
		var k any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, errBadKey
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, errBadKey
		}
		return s, nil
	}
}

var errBadKey = errors.New("the private key does not parse (encrypted keys are not supported)")
