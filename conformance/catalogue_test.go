package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// check exercises one rule on one transport.
type check func(t *testing.T, tr Transport)

// checks maps each rule that applies to its test.
var checks = map[string]check{
	"ws-header-zero":               checkWSHeaderZero,
	"ws-inbound-limit":             checkWSInboundLimit,
	"ws-inbound-limit-1009":        checkWSInboundLimit1009,
	"limits-configurable":          checkLimitsConfigurable,
	"outbound-limit":               checkOutboundLimit,
	"heartbeat-capability":         checkHeartbeatCapability,
	"heartbeat-interval":           checkHeartbeatInterval,
	"http-poll":                    checkHTTPPoll,
	"http-poll-configurable":       checkHTTPPollConfigurable,
	"http-poll-heartbeat":          checkHTTPPollHeartbeat,
	"http-one-request":             checkHTTPOneRequest,
	"http-content-type":            checkHTTPContentType,
	"http-gzip":                    checkHTTPGzip,
	"http-instance-uid-header":     checkHTTPInstanceUIDHeader,
	"http-413":                     checkHTTP413,
	"http-inbound-limit":           checkHTTPInboundLimit,
	"ws-server-1009":               checkWSServer1009,
	"instance-uid":                 checkInstanceUID,
	"sequence-num":                 checkSequenceNum,
	"unchanged-unset":              checkUnchangedUnset,
	"capabilities":                 checkCapabilities,
	"ignore-unsupported":           checkIgnoreUnsupported,
	"disconnect-last":              checkDisconnectLast,
	"no-report-without-change":     checkNoReportWithoutChange,
	"new-instance-uid":             checkNewInstanceUID,
	"status-first":                 checkStatusFirst,
	"status-on-change":             checkStatusOnChange,
	"changed-submessage-whole":     checkChangedSubmessageWhole,
	"report-full-state":            checkReportFullState,
	"health-start-time":            checkHealthStartTime,
	"cs-ignore-without-capability": checkCSIgnoreWithoutCapability,
	"cs-applying":                  checkCSApplying,
	"cs-verify-by-connecting":      checkCSVerifyByConnecting,
	"cs-applied":                   checkCSApplied,
	"cs-failed":                    checkCSFailed,
	"cs-revert-after-switch":       checkCSRevertAfterSwitch,
	"cs-candidate":                 checkCSCandidate,
	"cs-disconnect-first":          checkCSDisconnectFirst,
	"http-disconnect-switch":       checkHTTPDisconnectSwitch,
	"cs-status-unchanged-unset":    checkCSStatusUnchangedUnset,
	"cs-headers":                   checkCSHeaders,
	"cs-headers-replace":           checkCSHeadersReplace,
	"csr-server-capability":        checkCSRServerCapability,
	"csr-tls":                      checkCSRTLS,
	"cs-certificate":               checkCSCertificate,
	"cs-certificate-omitted":       checkCSCertificateOmitted,
	"csr-agent-key":                checkCSRAgentKey,
	"cs-ephemeral":                 checkCSEphemeral,
	"cs-endpoint":                  checkCSEndpoint,
	"cs-endpoint-transport":        checkCSEndpointTransport,
	"cs-tls-forget":                checkCSTLSForget,
	"csr-renew":                    checkCSRRenew,
	"heartbeat-offer":              checkHeartbeatOffer,
	"heartbeat-offer-zero":         checkHeartbeatOfferZero,
	"heartbeat-uid":                checkHeartbeatUID,
	"heartbeat-from-last":          checkHeartbeatFromLast,
	"effective-config-capability":  checkEffectiveConfigCapability,
	"remote-config":                checkRemoteConfig,
	"remote-config-status":         checkRemoteConfigStatus,
	"components-hash":              checkComponentsHash,
	"connect-backoff":              checkConnectBackoff,
	"connect-throttling":           checkConnectThrottling,
	"ws-close":                     checkWSClose,
	"http-disconnect":              checkHTTPDisconnect,
	"ws-reconnect":                 checkWSReconnect,
	"ws-reconnect-backoff":         checkWSReconnectBackoff,
	"ws-one-connection":            checkWSOneConnection,
	"bad-request":                  checkBadRequest,
	"unavailable":                  checkUnavailable,
	"unavailable-backoff":          checkUnavailableBackoff,
	"server-capabilities":          checkServerCapabilities,
	"ws-redirect":                  checkWSRedirect,
	"http-redirect":                checkHTTPRedirect,
}

// TestConformance runs every rule's check on every transport it applies
// to, as TestConformance/<rule>/<transport>.
func TestConformance(t *testing.T) {
	for _, r := range Rules {
		if len(r.Transports) == 0 {
			continue
		}
		c := checks[r.ID]
		if c == nil {
			continue // TestCatalogue fails it
		}
		t.Run(r.ID, func(t *testing.T) {
			t.Parallel()
			for _, tr := range r.Transports {
				t.Run(string(tr), func(t *testing.T) { c(t, tr) })
			}
		})
	}
}

// TestCatalogue: every rule that applies has a check and every check a
// rule; a rule that departs or does not apply says why.
func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		assert.False(t, seen[r.ID], "rule %s listed twice", r.ID)
		seen[r.ID] = true
		assert.NotEmpty(t, r.Section, r.ID)
		assert.NotEmpty(t, r.Quote, r.ID)
		if r.CoveredBy != "" {
			assert.NotEqual(t, NotApplicable, r.Status, r.ID)
			assert.Empty(t, r.Transports, "%s is covered elsewhere: no transport", r.ID)
			assert.Nil(t, checks[r.ID], "%s is covered elsewhere yet has a check", r.ID)
			assert.True(t, testExists(t, r.CoveredBy), "%s: no test %s", r.ID, r.CoveredBy)
			assert.NotEmpty(t, r.Reason, r.ID)
			continue
		}
		switch r.Status {
		case NotApplicable:
			assert.Empty(t, r.Transports, "%s does not apply: no transport", r.ID)
			assert.NotEmpty(t, r.Reason, "%s: why it does not apply", r.ID)
			assert.Nil(t, checks[r.ID], "%s does not apply yet has a check", r.ID)
		case Departs:
			assert.NotEmpty(t, r.Reason, "%s: why it departs", r.ID)
			fallthrough
		case Pass:
			assert.NotEmpty(t, r.Transports, r.ID)
			assert.NotNil(t, checks[r.ID], "%s has no check", r.ID)
		default:
			t.Errorf("%s: unknown status %q", r.ID, r.Status)
		}
	}
	for id := range checks {
		assert.True(t, seen[id], "check %s has no rule", id)
	}
}

// testExists: the "<dir>:<TestName>" of a CoveredBy is a test function in
// one of dir's _test.go files.
func testExists(t *testing.T, covered string) bool {
	dir, name, ok := strings.Cut(covered, ":")
	require.True(t, ok, "%q is not <dir>:<TestName>", covered)
	files, err := filepath.Glob(filepath.Join("..", dir, "*_test.go"))
	require.NoError(t, err)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		if strings.Contains(string(src), "\nfunc "+name+"(t *testing.T) {") {
			return true
		}
	}
	return false
}

// TestConformanceMarkdown: CONFORMANCE.md is the catalogue's table
// (make conformance regenerates it).
func TestConformanceMarkdown(t *testing.T) {
	have, err := os.ReadFile("../CONFORMANCE.md")
	require.NoError(t, err)
	assert.Equal(t, Markdown(), string(have), "CONFORMANCE.md is stale: run make conformance")
}
