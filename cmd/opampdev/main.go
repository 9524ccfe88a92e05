// Command opampdev is a local OpAMP server for trying the otelcol-opamp
// distro: it prints what each agent reports and serves a status page, from
// which a remote config or connection settings can be sent to an agent
// that accepts them. It keeps everything in memory and is not a fleet
// manager. With more than one -listen address, an agent can be moved
// between them from the page.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/opampext/opampextension/cmd/opampdev/internal/devserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "opampdev:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg devserver.Config
	listen := flag.String("listen", "0.0.0.0:4320", "OpAMP listen address (WebSocket and HTTP); a comma-separated list listens on each, to move agents between them")
	flag.StringVar(&cfg.OpAMPPath, "path", "/v1/opamp", "OpAMP URL path")
	flag.StringVar(&cfg.UIAddr, "http", "127.0.0.1:4321", "status page listen address")
	flag.DurationVar(&cfg.StaleAfter, "stale-after", 90*time.Second, "mark HTTP agents offline after this long without a poll")
	flag.Parse()
	for a := range strings.SplitSeq(*listen, ",") {
		cfg.OpAMPAddrs = append(cfg.OpAMPAddrs, strings.TrimSpace(a))
	}
	cfg.Out = os.Stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := devserver.New(cfg)
	if err := srv.Start(); err != nil {
		return err
	}
	fmt.Printf("opampdev: OpAMP on %s (HTTP polling too), page on http://%s/\n",
		strings.Join(srv.OpAMPURLs(), " and "), devserver.Reachable(srv.UIAddr()))

	<-ctx.Done()
	stop() // a second Ctrl-C now kills the process the default way
	fmt.Println("opampdev: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
