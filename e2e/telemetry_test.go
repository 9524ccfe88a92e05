//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestOwnMetrics: an operator sees from the Collector's own Prometheus
// metrics that the extension is connected and what it sends, as the
// distro exposes them with the usual telemetry settings.
func TestOwnMetrics(t *testing.T) {
	srv := testserver.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "collector.yaml")
	port := freePort(t)
	writeFile(t, cfg, collectorConfig("      ws:\n        endpoint: "+srv.WSURL(), fmt.Sprintf(`
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
                without_units: true
                without_type_suffix: true`, port)))
	col := startProcess(t, dir, "collector", distroBin(t), []string{"--config", cfg}, cfg)
	srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool { return a.Health.GetHealthy() })

	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	var body string
	require.Eventually(t, func() bool {
		body = scrape(url)
		return metricValue(body, "otelcol_opamp_connected") == 1 && metricValue(body, "otelcol_opamp_bytes_sent") > 0
	}, readyTimeout, 200*time.Millisecond, "own metrics at %s:\n%s", url, body)
	for _, name := range []string{
		"otelcol_opamp_connects", "otelcol_opamp_connection_attempts", "otelcol_opamp_messages_sent",
		"otelcol_opamp_messages_received", "otelcol_opamp_bytes_received",
	} {
		assert.Positive(t, metricValue(body, name), name)
	}
	t.Logf("connected=%v bytes_sent=%v bytes_received=%v messages_sent=%v connection_attempts=%v",
		metricValue(body, "otelcol_opamp_connected"), metricValue(body, "otelcol_opamp_bytes_sent"),
		metricValue(body, "otelcol_opamp_bytes_received"), metricValue(body, "otelcol_opamp_messages_sent"),
		metricValue(body, "otelcol_opamp_connection_attempts"))
	last := metricValue(body, "otelcol_opamp_last_message_sent_time")
	assert.InDelta(t, float64(time.Now().Unix()), last, 60, "otelcol_opamp_last_message_sent_time")

	require.NoError(t, col.cmd.Process.Signal(syscall.SIGTERM))
	assert.NoError(t, col.wait(t, stopTimeout))
}

// scrape returns the Prometheus text at url, or "" when it cannot.
func scrape(url string) string {
	resp, err := http.Get(url) //nolint:gosec,noctx // a local test endpoint
	if err != nil {
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return ""
	}
	return string(b)
}

// metricValue sums the samples of the named metric in a Prometheus text
// exposition (-1 when there is none).
func metricValue(body, name string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
	matches := re.FindAllStringSubmatch(body, -1)
	if len(matches) == 0 {
		return -1
	}
	sum := 0.0
	for _, m := range matches {
		v, err := strconv.ParseFloat(m[2], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}
