// Package pemcert reads the X.509 certificates in PEM data: the one parser
// for the certificates a server offers (connection settings' CA and client
// chains, a certificate issued for our CSR).
package pemcert

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ErrNone: the data holds no CERTIFICATE block.
var ErrNone = errors.New("no CERTIFICATE PEM block")

const blockType = "CERTIFICATE"

// Parse returns every CERTIFICATE block of data parsed, in order, and at
// least one. Other blocks (a key pasted in the same file, say) are
// skipped; a block that does not parse fails the whole, naming which one.
func Parse(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != blockType {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrNone
	}
	return out, nil
}

// Encode is certs as PEM, CERTIFICATE blocks only: what Parse read,
// without whatever else surrounded it.
func Encode(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: c.Raw})...)
	}
	return out
}
