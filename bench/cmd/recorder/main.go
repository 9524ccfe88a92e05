// Command recorder runs the benchmark OpAMP server (bench/recorder) on its
// own, for manual runs against any agent. A small HTTP control API:
//
//	GET  /snapshot           every message, per-agent sums and attempts (JSON)
//	GET  /full               {"full":F,"total":T,"incomplete":[...]} agents with a full state
//	POST /outage?for=3s      drop every agent, turn them away for 3s, come back
//
// scripts/bench.sh does not use it: bench/cmd/benchrun embeds the recorder.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/opampext/opampextension/bench/recorder"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:4320", "OpAMP listen address")
	control := flag.String("control", "127.0.0.1:4321", "control API listen address")
	flag.Parse()

	r, err := recorder.Start(*listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("OpAMP endpoint:", r.Endpoint())

	ctl := &http.Server{Addr: *control, Handler: controlAPI(r), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := ctl.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	fmt.Println("control API: http://" + *control)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ctl.Shutdown(ctx)
	if err := r.Stop(ctx); err != nil {
		log.Print(err)
	}
}

// controlAPI is the recorder's HTTP control surface.
func controlAPI(r *recorder.Recorder) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, r.Snapshot())
	})
	mux.HandleFunc("GET /full", func(w http.ResponseWriter, _ *http.Request) {
		full, total := r.FullCount()
		writeJSON(w, map[string]any{"full": full, "total": total, "incomplete": r.Incomplete()})
	})
	mux.HandleFunc("POST /outage", func(w http.ResponseWriter, req *http.Request) {
		d, err := time.ParseDuration(req.URL.Query().Get("for"))
		if err != nil || d <= 0 {
			http.Error(w, fmt.Sprintf("query parameter for: want a positive duration such as 3s, got %q", req.URL.Query().Get("for")), http.StatusBadRequest)
			return
		}
		back := r.Outage(d)
		writeJSON(w, map[string]int64{"returned_at": back.UnixNano()})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
