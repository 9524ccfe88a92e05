// Package certrotate asks the OpAMP server for a client certificate by a
// certificate signing request (CSR) and checks the certificate it offers
// back, so that an agent can get and renew its TLS client certificate
// without an operator copying keys around.
//
// The private key is generated on the agent and never leaves the process
// except to the state directory (persist.Dir, files 0600): the server only
// ever sees the CSR and answers with the certificate alone. The flow, as
// the OpAMP specification describes it:
//
//  1. Need says a certificate is wanted (none yet, or the current one is
//     within renew_before of its end).
//  2. Rotator.Request builds AgentToServer.connection_settings_request
//     {opamp{certificate_request{csr}}}, sent only when the server has
//     AcceptsConnectionSettingsRequest.
//  3. The server answers with ConnectionSettingsOffers whose
//     opamp.certificate carries the certificate without a private key;
//     Rotator.Complete checks it against the pending key and returns the
//     certificate and key PEM for the try-then-switch path.
//  4. Rotator.Applied (the switch worked) or Rotator.Failed (it did not)
//     closes the round.
//
// Rotator.Key is the other way to complete an offer: it has the shape of
// connsettings.KeySource and finds the pending or the accepted key by the
// offered certificate's public key (also after a restart, for settings
// persisted without their key). A round completed that way closes when
// Request next sees the new certificate in use.
package certrotate

import (
	"crypto/x509"
	"fmt"
	"time"
)

// Need reports whether the agent should ask for a client certificate now,
// and why (for a debug log): there is none, it has expired, or it ends
// within renewBefore. Renewing before the end, not at it, leaves time for a
// server that answers late or a first offer that fails to apply.
func Need(current *x509.Certificate, now time.Time, renewBefore time.Duration) (bool, string) {
	if current == nil {
		return true, "no client certificate yet"
	}
	if !now.Before(current.NotAfter) {
		return true, fmt.Sprintf("the client certificate expired at %s", current.NotAfter.UTC().Format(time.RFC3339))
	}
	if left := current.NotAfter.Sub(now); left <= renewBefore {
		return true, fmt.Sprintf("the client certificate expires at %s, within %s", current.NotAfter.UTC().Format(time.RFC3339), renewBefore)
	}
	return false, fmt.Sprintf("the client certificate is valid until %s", current.NotAfter.UTC().Format(time.RFC3339))
}
