package certrotate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Identity is what the CSR says about the agent. The server decides what
// to put in the certificate; these are the names an issuing policy can
// match on:
//
//   - Subject CommonName: the instance uid, the one name that is unique per
//     agent and that the server already knows from every message.
//   - Subject OrganizationalUnit: service.name, when set, so a CA can scope
//     certificates by workload.
//   - URI SAN urn:opamp:instance:<uid>: the uid again, where modern
//     verifiers look (the CommonName is legacy for them).
//   - DNS SAN: the host name, when it is a valid DNS name; an IP literal
//     goes into an IP SAN instead; anything else is left out.
type Identity struct {
	// InstanceUID is the agent's instance uid in its text form. Required.
	InstanceUID string
	// ServiceName is the agent's service.name. Optional.
	ServiceName string
	// HostName is the host's name. Optional.
	HostName string
}

// URIPrefix starts the URI SAN that carries the instance uid.
const URIPrefix = "urn:opamp:instance:"

// errNoUID is returned by New for an Identity without an instance uid.
var errNoUID = errors.New("certrotate: the identity has no instance uid")

// template is the CSR template for id.
func (id Identity) template() (*x509.CertificateRequest, error) {
	if id.InstanceUID == "" {
		return nil, errNoUID
	}
	u, err := url.Parse(URIPrefix + id.InstanceUID)
	if err != nil {
		return nil, fmt.Errorf("certrotate: instance uid %q does not make a URI: %w", id.InstanceUID, err)
	}
	tpl := &x509.CertificateRequest{
		SignatureAlgorithm: x509.ECDSAWithSHA256,
		Subject:            pkix.Name{CommonName: id.InstanceUID},
		URIs:               []*url.URL{u},
	}
	if id.ServiceName != "" {
		tpl.Subject.OrganizationalUnit = []string{id.ServiceName}
	}
	if ip := net.ParseIP(id.HostName); ip != nil {
		tpl.IPAddresses = []net.IP{ip}
	} else if isDNSName(id.HostName) {
		tpl.DNSNames = []string{strings.ToLower(id.HostName)}
	}
	return tpl, nil
}

// isDNSName reports whether s is a host name a CA would put in a DNS SAN:
// dot-separated labels of letters, digits and inner hyphens, 1 to 63 each,
// 253 in all. A name that is not (a Windows name with an underscore, say)
// is left out rather than making the CA refuse the whole request.
func isDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			ok := c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !ok {
				return false
			}
		}
	}
	return true
}

// newKey generates the agent's private key: ECDSA P-256, which every TLS
// stack and CA accepts and which takes well under a millisecond.
func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certrotate: generating a key: %w", err)
	}
	return k, nil
}

// csrPEM signs a CSR for id with key and encodes it as PEM.
func csrPEM(id Identity, key *ecdsa.PrivateKey) ([]byte, error) {
	tpl, err := id.template()
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tpl, key)
	if err != nil {
		return nil, fmt.Errorf("certrotate: creating the certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// errBadKeyPEM is returned for a stored key that does not decode. Its
// text never includes the stored bytes.
var errBadKeyPEM = errors.New("certrotate: the stored private key does not decode")

// encodeKey is key as PKCS#8 PEM, the form tls.X509KeyPair and
// configtls read.
func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certrotate: encoding the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// decodeKey reverses encodeKey. Its errors say what is wrong, never what
// the bytes were.
func decodeKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errBadKeyPEM
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errBadKeyPEM
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errBadKeyPEM
	}
	return ec, nil
}
