package effectiveconfig

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// redactionShapes are long single string values of the shapes the
// scrubbing passes look into, each built to about n bytes. A pass that
// rescans the rest of the string per match is quadratic on one of them.
var redactionShapes = []struct {
	name string
	unit func(i int) string // the i-th repeated piece
	tail string             // what ends the value
}{
	// The shape of issue 10: URLs without a stop character between them,
	// then an e-mail address, so that the '@' fast path does not apply.
	{"urls", func(i int) string { return fmt.Sprintf("https://host-%05d.example.com/paths,", i) }, "ops@example.com"},
	{"urls_userinfo", func(i int) string { return fmt.Sprintf("https://u%d:p@h%d.example.com/x,", i, i) }, ""},
	{"authority_only", func(i int) string { return fmt.Sprintf("a://h%d:x,", i) }, "@"},
	{"key_value", func(i int) string { return fmt.Sprintf("host=h%d password=p%d user=u%d ", i, i, i) }, ""},
	{"query", func(i int) string { return fmt.Sprintf("&api_key=k%d&q=%d", i, i) }, ""},
	{"header_lines", func(i int) string { return fmt.Sprintf("X-Api-Key: k%d\nX-Tenant: t%d\n", i, i) }, ""},
	{"json", func(i int) string { return fmt.Sprintf(`{"api_key":"k%d","password":"p%d","n":%d},`, i, i, i) }, ""},
	{"json_nested", func(i int) string { return fmt.Sprintf(`{"credentials":{"user":"u%d","list":[1,2]}},`, i) }, ""},
	{"unterminated_quotes", func(int) string { return `password="a '` }, ""},
	{"bearer", func(i int) string { return fmt.Sprintf("Bearer tok%d, ", i) }, ""},
	{"mysql_dsn", func(i int) string { return fmt.Sprintf("u%d:p@tcp(db:3306)/app ", i) }, ""},
	{"colons", func(int) string { return "a:" }, "@"},
	{"refs", func(i int) string { return fmt.Sprintf("token=${env:T%d} ", i) }, ""},
	{"jwts", func(i int) string { return fmt.Sprintf("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1%05d.c2ln ", i) }, ""},
	{"jwt_headers_only", func(int) string { return "eyJhbGciOiJIUzI1NiJ9.eyJ." }, ""},
	{"pem_begins", func(int) string { return "-----BEGIN CERTIFICATE-----\n" }, ""},
	{"pem_keys", func(i int) string {
		return fmt.Sprintf("-----BEGIN PRIVATE KEY-----\nk%d\n-----END PRIVATE KEY-----\n", i)
	}, ""},
}

func buildShape(unit func(int) string, tail string, n int) string {
	var b strings.Builder
	b.Grow(n + 64)
	for i := 0; b.Len() < n; i++ {
		b.WriteString(unit(i))
	}
	b.WriteString(tail)
	return b.String()
}

// redactOne is what a configuration value goes through before it is
// encoded: the look for secret references in its source, and every string
// pass.
func redactOne(s string) {
	tree := map[string]any{"v": s}
	redactBySource(tree, tree)
	Redact(tree)
}

// BenchmarkRedactShape redacts one value of each shape at 256 KiB and at
// four times that, 1 MiB: per shape, the second takes about four times
// the first when redaction is linear.
func BenchmarkRedactShape(b *testing.B) {
	for _, sh := range redactionShapes {
		for _, size := range []int{256 << 10, 1 << 20} {
			s := buildShape(sh.unit, sh.tail, size)
			b.Run(fmt.Sprintf("%s/%dKiB", sh.name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				for b.Loop() {
					redactOne(s)
				}
			})
		}
	}
}

// TestRedactionIsLinear times every shape at n and at 4n in the same run
// and fails when the larger one takes far more than four times as long:
// a quadratic pass takes sixteen times as long (at n = 128 KiB the shape of
// issue 10 took 0.1 s and 1.6 s), noise does not come near ten. The two
// sizes run in turns with the collector off, the fastest run of each
// counts, and a shape over the bound is measured once more before it
// fails, so a busy machine does not fail the test.
func TestRedactionIsLinear(t *testing.T) {
	const n = 128 << 10
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	timed := func(s string) time.Duration {
		start := time.Now()
		redactOne(s)
		return time.Since(start)
	}
	for _, sh := range redactionShapes {
		t.Run(sh.name, func(t *testing.T) {
			small, large := buildShape(sh.unit, sh.tail, n), buildShape(sh.unit, sh.tail, 4*n)
			var ratio float64
			for attempt := 0; attempt < 2; attempt++ {
				runtime.GC()
				// Below 250 µs the clock and the scheduler dominate.
				ts, tl := time.Duration(1<<63-1), time.Duration(1<<63-1)
				for range 3 {
					ts, tl = min(ts, timed(small)), min(tl, timed(large))
				}
				ts = max(ts, 250*time.Microsecond)
				ratio = float64(tl) / float64(ts)
				t.Logf("%v for %d KiB, %v for %d KiB (x%.1f)", ts, n>>10, tl, 4*n>>10, ratio)
				if ratio <= 10 {
					return
				}
			}
			t.Errorf("4x the input took %.1fx the time: a redaction pass is not linear", ratio)
		})
	}
}
