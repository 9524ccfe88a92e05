package remoteconfig

import (
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/effectiveconfig"
	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testotlp"
)

const (
	connApplied  = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED
	connApplying = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING
	connFailed   = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED
)

func metricsOffer(hash string, d *protobufs.TelemetryConnectionSettings) *protobufs.ConnectionSettingsOffers {
	return &protobufs.ConnectionSettingsOffers{Hash: []byte(hash), OwnMetrics: d}
}

// waitMetrics waits for an otelcol_ metric at the sink after posts.
func waitMetrics(t *testing.T, sink *testotlp.Sink, after int) {
	t.Helper()
	require.Eventually(t, func() bool {
		name, posts := sink.CollectorMetric()
		return name != "" && posts > after
	}, ownWait, 20*time.Millisecond, "no otelcol_ metric reached the offered endpoint")
}

// TestOwnMetricsInProcess: an offered destination gets the Collector's
// own metrics over OTLP/HTTP (decoded here), applied in-process and
// reported APPLIED, the header secret redacted in the effective config; a
// bad offer is FAILED with the Collector still running and still
// exporting; an empty one removes the destination.
func TestOwnMetricsInProcess(t *testing.T) {
	rig := newOwnRig(t)
	sink := testotlp.Start(t, nil)
	run := rig.run(t)
	rig.manager(t).ReceiveOwnTelemetry(metricsOffer("o1", &protobufs.TelemetryConnectionSettings{
		DestinationEndpoint: sink.URL() + "/v1/metrics",
		Headers:             &protobufs.Headers{Headers: []*protobufs.Header{{Key: "Authorization", Value: "Bearer s3cret-token"}}},
	}))
	rig.waitStatus(t, "o1", connApplying)
	rig.waitStatus(t, "o1", connApplied)
	waitMetrics(t, sink, 0)
	assert.Equal(t, "Bearer s3cret-token", sink.Header("Authorization"))

	eff, err := effectiveconfig.Build(rig.effective(), nil, false)
	require.NoError(t, err)
	body := string(eff.GetConfigMap().GetConfigMap()[""].GetBody())
	assert.Contains(t, body, sink.URL()+"/v1/metrics", "the destination is in the effective config")
	assert.NotContains(t, body, "s3cret-token")

	bad := rig.waitStatusAfter(t, func() {
		rig.manager(t).ReceiveOwnTelemetry(metricsOffer("o2", &protobufs.TelemetryConnectionSettings{DestinationEndpoint: "http//no-scheme:4318/v1/metrics"}))
	}, "o2", connFailed)
	assert.Contains(t, bad.GetErrorMessage(), "destination_endpoint")
	assert.True(t, run.running(), "the Collector runs on")
	_, posts := sink.CollectorMetric()
	waitMetrics(t, sink, posts) // still to the destination accepted before

	rig.manager(t).ReceiveOwnTelemetry(metricsOffer("o3", &protobufs.TelemetryConnectionSettings{}))
	rig.waitStatus(t, "o3", connApplied)
	time.Sleep(300 * time.Millisecond) // the old service's last export on shutdown
	_, posts = sink.CollectorMetric()
	time.Sleep(time.Second) // ten export intervals
	_, after := sink.CollectorMetric()
	assert.Equal(t, posts, after, "no export after the destination was removed")
	st, err := rig.store(t).load()
	require.NoError(t, err)
	assert.Nil(t, st.Active, "back to the local config alone")
	assert.True(t, run.running())
}

// TestOwnMetricsTLSSurviveRestart: an offer with a CA and a client
// certificate reaches an endpoint that requires both, and the accepted
// layer comes back after a restart with its status, without a new offer.
func TestOwnMetricsTLSSurviveRestart(t *testing.T) {
	certs := testcerts.New(t)
	sink := testotlp.Start(t, func(s *httptest.Server) {
		s.TLS = certs.ServerTLSConfig(true)
		s.StartTLS()
	})
	rig := newOwnRig(t)
	run := rig.run(t)
	rig.manager(t).ReceiveOwnTelemetry(metricsOffer("tls1", &protobufs.TelemetryConnectionSettings{
		DestinationEndpoint: sink.URL() + "/v1/metrics",
		Tls:                 &protobufs.TLSConnectionSettings{CaPemContents: readFile(t, certs.CAFile)},
		Certificate: &protobufs.TLSCertificate{
			Cert: []byte(readFile(t, certs.ClientCertFile)), PrivateKey: []byte(readFile(t, certs.ClientKeyFile)),
		},
	}))
	rig.waitStatus(t, "tls1", connApplied)
	waitMetrics(t, sink, 0)
	run.stop(t)

	rig.mu.Lock()
	rig.reports = nil
	rig.mu.Unlock()
	_, posts := sink.CollectorMetric()
	rig.run(t)
	rig.waitStatus(t, "tls1", connApplied) // reported at start, from the state
	waitMetrics(t, sink, posts)
}

// waitStatusAfter runs send and waits for the status it leads to.
func (r *ownRig) waitStatusAfter(t *testing.T, send func(), hash string, want protobufs.ConnectionSettingsStatuses) *protobufs.ConnectionSettingsStatus {
	t.Helper()
	send()
	return r.waitStatus(t, hash, want)
}

func (r *ownRig) store(t *testing.T) *store {
	t.Helper()
	_, err := os.Stat(r.dir)
	require.NoError(t, err)
	s, err := openStore(r.dir)
	require.NoError(t, err)
	return s
}

// TestOwnOfferDuringApply: an offer that reaches the instance an apply is
// reloading away from is handed to the instance the reload builds.
func TestOwnOfferDuringApply(t *testing.T) {
	rig := newOwnRig(t)
	first, second := testotlp.Start(t, nil), testotlp.Start(t, nil)
	rig.run(t)
	m := rig.manager(t)
	m.ReceiveOwnTelemetry(metricsOffer("a1", dest(first.URL()+"/v1/metrics")))
	rig.waitStatus(t, "a1", connApplying)
	m.ReceiveOwnTelemetry(metricsOffer("a2", dest(second.URL()+"/v1/metrics")))
	rig.waitStatus(t, "a2", connApplied)
	waitMetrics(t, second, 0)
}
