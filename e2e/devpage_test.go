//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envChromium names the browser the page test drives; the default is
// where Debian's chromium package puts it.
const envChromium = "E2E_CHROMIUM"

// pageTimeout bounds each wait on the page: a remote config is validated
// by executing the distro, then applied by a reload.
const pageTimeout = 60 * time.Second

// TestDevPageRemoteConfig: in a real headless Chromium, the opampdev page
// shows the distro (which accepts remote config) with an editor; a YAML
// adding a pipeline, pasted and sent, ends APPLIED for its hash with the
// new receiver in the effective config shown (and listening), the page
// listing APPLYING then APPLIED as the agent reported them; invalid
// YAML ends FAILED with the agent's message on the page. The screenshot
// is in the test's artifact directory (go test -artifacts keeps it).
func TestDevPageRemoteConfig(t *testing.T) {
	chromium := chromiumBin(t)
	dir := t.TempDir()
	dev := buildOpampdev(t, dir)
	opampPort, pagePort := freePort(t), freePort(t)
	startProcess(t, dir, "opampdev", dev, []string{
		"-listen", fmt.Sprintf("127.0.0.1:%d", opampPort), "-http", fmt.Sprintf("127.0.0.1:%d", pagePort),
	})
	require.True(t, eventually(readyTimeout, func() bool { return listening(opampPort) && listening(pagePort) }), "opampdev listens")

	uid := uuid.NewString()
	cfg := filepath.Join(dir, "collector.yaml")
	writeFile(t, cfg, standaloneConfig(fmt.Sprintf("      ws:\n        endpoint: ws://127.0.0.1:%d/v1/opamp", opampPort)+
		"\n    instance_uid: "+uid+
		"\n    capabilities:\n      accepts_remote_config: true"+
		"\n    storage:\n      directory: "+filepath.Join(dir, "state")+
		"\n    remote_config:\n      apply_timeout: 10s"))
	startProcess(t, dir, "collector", distroBin(t), []string{"--config", cfg}, cfg)

	// The agent appears, with its editor, once it has connected.
	page := openPage(t, chromium, dir, pagePort, uid, "yaml-"+uid)

	port := freePort(t)
	good := inProcessReceivers(map[string]int{"page": port})
	st := page.send(t, good, func(s pageState) bool {
		return s.Status == "APPLIED" && strings.Contains(s.Config, "otlp/page") && strings.Contains(s.Config, "logs/page")
	})
	assert.Empty(t, st.Error)
	assert.Regexp(t, `^Reported: APPLYING at [0-9:.]+ → APPLIED at [0-9:.]+$`, st.History, "the page shows the way to APPLIED")
	assert.True(t, eventually(10*time.Second, func() bool { return listening(port) }), "the receiver the page sent listens")

	bad := "receivers:\n  otlp/x: [unclosed\n"
	st = page.send(t, bad, func(s pageState) bool { return s.Status == "FAILED" })
	assert.NotEmpty(t, st.Error, "FAILED shows the agent's message")
	t.Logf("FAILED message on the page: %s", st.Error)
	assert.Contains(t, st.Config, "otlp/page", "the applied config keeps running")

	screenshot(t, page.ctx, "devpage.png")
}

// TestDevPageConnectionSettings: in a real headless Chromium, the
// opampdev page (two listeners) shows the distro, which accepts
// connection settings, with an offer form. A header offered from it ends
// APPLIED, its value on neither the page nor in either log; an endpoint
// nothing listens on ends FAILED with the agent's message, the agent
// still connected to the first listener; the second listener offered
// ends APPLIED with the agent on it.
func TestDevPageConnectionSettings(t *testing.T) {
	chromium := chromiumBin(t)
	dir := t.TempDir()
	dev := buildOpampdev(t, dir)
	portA, portB, pagePort := freePort(t), freePort(t), freePort(t)
	devProc := startProcess(t, dir, "opampdev", dev, []string{
		"-listen", fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", portA, portB), "-http", fmt.Sprintf("127.0.0.1:%d", pagePort),
	})
	require.True(t, eventually(readyTimeout, func() bool { return listening(portA) && listening(portB) && listening(pagePort) }), "opampdev listens")

	uid := uuid.NewString()
	cfg := filepath.Join(dir, "collector.yaml")
	writeFile(t, cfg, standaloneConfig(fmt.Sprintf("      ws:\n        endpoint: ws://127.0.0.1:%d/v1/opamp", portA)+
		"\n    instance_uid: "+uid+
		"\n    capabilities:\n      accepts_opamp_connection_settings: true"+
		"\n    storage:\n      directory: "+filepath.Join(dir, "state")))
	col := startProcess(t, dir, "collector", distroBin(t), []string{"--config", cfg}, cfg)

	page := openPage(t, chromium, dir, pagePort, uid, "csendpoint-"+uid)
	listenerA, listenerB := fmt.Sprintf("127.0.0.1:%d", portA), fmt.Sprintf("127.0.0.1:%d", portB)
	applied := func(s pageState) bool { return s.Status == "APPLIED" }

	const secret = "Bearer devpage-e2e-9b2f"
	st := page.offer(t, "", "Authorization", secret, applied)
	assert.Contains(t, st.Conn, "to listener "+listenerA)
	assert.Regexp(t, `Reported: (APPLYING at [0-9:.]+ → )?APPLIED at [0-9:.]+$`, st.History)
	assert.Contains(t, st.Body, "header Authorization (value not shown)")
	assert.NotContains(t, st.Body, secret, "the page shows the header's name only")

	dead := fmt.Sprintf("ws://127.0.0.1:%d/v1/opamp", freePort(t))
	st = page.offer(t, dead, "", "", func(s pageState) bool { return s.Status == "FAILED" && s.Connected })
	assert.NotEmpty(t, st.Error, "FAILED shows the agent's message")
	t.Logf("FAILED message on the page: %s", st.Error)
	assert.Contains(t, st.Conn, "to listener "+listenerA, "the agent stays where it was")

	st = page.offer(t, "ws://"+listenerB+"/v1/opamp", "", "", func(s pageState) bool {
		return applied(s) && s.Connected && strings.Contains(s.Conn, "to listener "+listenerB)
	})
	assert.NotContains(t, st.Body, secret)
	for _, p := range []*process{devProc, col} {
		b, err := os.ReadFile(p.log)
		require.NoError(t, err)
		assert.NotContains(t, string(b), secret, "%s's log has the header value", p.name)
	}

	screenshot(t, page.ctx, "devpage-connection.png")
}

// screenshot saves the page as name in the test's artifact directory (go
// test -artifacts keeps it).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	path := filepath.Join(t.ArtifactDir(), name)
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
}

// openPage starts the browser on the dev server's page and waits until
// it shows the element with id wait for the agent uid.
func openPage(t *testing.T, chromium, dir string, pagePort int, uid, wait string) *devPage {
	t.Helper()
	ctx := startBrowser(t, chromium, dir)
	waitCtx, cancelWait := context.WithTimeout(ctx, pageTimeout)
	defer cancelWait()
	require.NoError(t, chromedp.Do(waitCtx,
		chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/", pagePort)),
		chromedp.WaitVisible(chromedp.ID(wait)),
	), "the page shows #%s", wait)
	return &devPage{ctx: ctx, uid: uid}
}

// devPage drives the page for one agent.
type devPage struct {
	ctx context.Context
	uid string
}

// pageState is what the page shows about the agent's remote config, or
// its connection settings.
type pageState struct {
	Status string `json:"status"` // the status element's text
	Hash   string `json:"hash"`   // the hash that status is for
	Error  string `json:"error"`  // the FAILED message, if any
	// History is the statuses reported for that hash, with their times.
	History string `json:"history"`
	Config  string `json:"config"` // the effective config section's text
	Sent    string `json:"sent"`   // what the page said after Send
	// Conn is the agent's transport line: where from, to which listener.
	Conn      string `json:"conn"`
	Connected bool   `json:"connected"`
	Body      string `json:"body"` // the whole page's text
}

// state is what the page shows about the remote config.
func (p *devPage) state() (pageState, error) { return p.stateOf("rc", "sent") }

// connState is what the page shows about the connection settings.
func (p *devPage) connState() (pageState, error) { return p.stateOf("cs", "cssent") }

// stateOf reads the status elements whose ids start with prefix, and the
// element sent says what became of the last Send.
func (p *devPage) stateOf(prefix, sent string) (pageState, error) {
	js := fmt.Sprintf(`(() => {
  const uid = %[1]s, pre = %[2]s;
  const text = id => { const e = document.getElementById(id + "-" + uid); return e ? e.textContent : ""; };
  const s = document.getElementById(pre + "status-" + uid);
  const info = document.getElementById("info-" + uid);
  return {status: text(pre + "status"), hash: s ? s.dataset.hash : "", error: text(pre + "error"), history: text(pre + "history"),
    config: text("cfg"), sent: text(%[3]s), conn: text("conn"), connected: !!(info && info.querySelector("h2 .ok")), body: document.body.innerText};
})()`, strconv.Quote(p.uid), strconv.Quote(prefix), strconv.Quote(sent))
	return chromedp.Run(p.ctx, chromedp.Evaluate[pageState](js))
}

// send pastes body into the editor, clicks Send and waits until the page
// shows a status for body's hash that done accepts; it returns that state
// and logs the statuses seen on the way.
func (p *devPage) send(t *testing.T, body string, done func(pageState) bool) pageState {
	t.Helper()
	require.NoError(t, chromedp.Do(p.ctx,
		chromedp.SetValue(chromedp.ID("yaml-"+p.uid), body),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-send=%q]`, p.uid))),
	))
	sum := sha256.Sum256([]byte(body))
	return p.await(t, "config", hex.EncodeToString(sum[:]), p.state, done)
}

// offer fills the connection settings form (empty fields stay empty),
// clicks Offer and waits until the page shows a status for the offer's
// hash, which the page says once the server took it, that done accepts.
func (p *devPage) offer(t *testing.T, endpoint, headerName, headerValue string, done func(pageState) bool) pageState {
	t.Helper()
	// One script, not chromedp.SetValue, which cannot set an empty value.
	fields, err := json.Marshal(map[string]string{
		"csendpoint-" + p.uid: endpoint, "csheader-" + p.uid: headerName, "csvalue-" + p.uid: headerValue,
	})
	require.NoError(t, err)
	filled, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
  for (const [id, v] of Object.entries(%s)) { const e = document.getElementById(id); if (!e) return false; e.value = v; }
  return true;
})()`, fields)))
	require.NoError(t, err)
	require.True(t, filled, "the form's fields are on the page")
	require.NoError(t, chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[data-connsend=%q]`, p.uid)))))
	sentRE := regexp.MustCompile(`^(sent|queued for the agent's next message) ([0-9a-f]{8})$`)
	var hash string
	require.True(t, eventually(10*time.Second, func() bool {
		s, err := p.connState()
		require.NoError(t, err)
		require.NotContains(t, s.Sent, "not sent")
		if m := sentRE.FindStringSubmatch(s.Sent); m != nil {
			hash = m[2]
		}
		return hash != ""
	}), "the page says the offer was sent")
	return p.await(t, "offer", hash, p.connState, done)
}

// await polls read until it shows a status for the hash (or its prefix)
// that done accepts; it returns that state and logs the statuses seen on
// the way.
func (p *devPage) await(t *testing.T, what, hash string, read func() (pageState, error), done func(pageState) bool) pageState {
	t.Helper()
	var seen []string
	var last pageState
	deadline := time.Now().Add(pageTimeout)
	for time.Now().Before(deadline) {
		s, err := read()
		require.NoError(t, err)
		last = s
		ours := s.Hash != "" && strings.HasPrefix(s.Hash, hash)
		if ours && (len(seen) == 0 || seen[len(seen)-1] != s.Status) {
			seen = append(seen, s.Status)
		}
		if ours && done(s) {
			t.Logf("%s %.8s: page showed %s; %s", what, hash, strings.Join(seen, " → "), s.History)
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	last.Body = "" // the page's text is long; the fields say enough
	t.Fatalf("%s %.8s: the page did not get there in %v; statuses seen %v; last state %+v", what, hash, pageTimeout, seen, last)
	return last
}

// chromiumBin is Debian's chromium, or $E2E_CHROMIUM. A missing browser
// fails the test: this suite installs nothing by download.
func chromiumBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv(envChromium)
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("no Chromium at %s (%v): the dev page test drives a real headless browser; install Debian's with `apt-get install -y chromium` (or set %s)", p, err, envChromium)
	}
	return p
}

// buildOpampdev builds cmd/opampdev into dir.
func buildOpampdev(t *testing.T, dir string) string {
	t.Helper()
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	out := filepath.Join(dir, "opampdev")
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/opampdev")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/opampdev: %v\n%s", err, b)
	}
	return out
}

// startBrowser starts headless Chromium with a fresh profile in dir and
// without the background traffic that would try the (closed) network; the
// browser is closed, and its goroutines ended, by t.Cleanup.
func startBrowser(t *testing.T, chromium, dir string) context.Context {
	t.Helper()
	logPath := filepath.Join(dir, "chromium.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium-profile")),
		chromedp.WindowSize(1280, 1400),
		chromedp.CombinedOutput(logFile),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		// Cancel closes the browser and waits for it; the cancels end
		// chromedp's goroutines (goleak checks).
		closeCtx, cancelClose := context.WithTimeout(browserCtx, 10*time.Second)
		if err := chromedp.Cancel(closeCtx); err != nil {
			t.Logf("closing Chromium: %v", err)
		}
		cancelClose()
		cancelBrowser()
		cancelAlloc()
		_ = logFile.Close()
		if t.Failed() {
			dumpLogs(t, logPath)
		}
	})
	// The first run starts the browser, for as long as browserCtx lives (so
	// without a timeout): fail here, naming it, if it cannot.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	ctx, cancelTimeout := context.WithTimeout(browserCtx, 5*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}
