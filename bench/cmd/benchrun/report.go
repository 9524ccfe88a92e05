package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// results is everything one benchrun measured, per run.
type results struct {
	Runs         int                      `json:"runs"`
	N            int                      `json:"n"`
	Window       time.Duration            `json:"window"`
	RepeatWindow time.Duration            `json:"repeat_window"`
	Outage       time.Duration            `json:"outage"`
	Process      []map[string]procFigures `json:"process"`
	// Startups are the extra starts of every distro, stopped once started
	// (-startups per run); the start-up times are medians over them and
	// the starts of Process.
	Startups []map[string]procFigures   `json:"startups,omitempty"`
	Repeat   []map[string]repeatFigures `json:"repeat"`
	Fleet    []map[string]fleetFigures  `json:"fleet"`
}

// Keys of the per-run maps.
const (
	ours            = "ours"
	contrib         = "contrib"
	baseline        = "baseline"
	baselineContrib = "baseline-contrib"
)

// Goal constants from the project's issue.
const (
	heartbeatInterval  = 30 * time.Second
	heartbeatFloor     = 26.0 // bytes: uid, sequence number, capabilities
	heartbeatTolerance = 1.10
)

// row is one line of the table. ours and contrib are medians over runs; a
// nil met means the row has no goal.
type row struct {
	figure        string
	ours, contrib float64
	digits        int
	ref           string // contrib's figure measured here before
	goal          string
	met           *bool
}

func ptr(b bool) *bool { return &b }

// over returns the median over runs of f applied to each run's map, NaN
// values left out (NaN when all are).
func over[M any](runs []map[string]M, f func(map[string]M) float64) float64 {
	v := make([]float64, 0, len(runs))
	for _, r := range runs {
		if x := f(r); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	return median(v)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rows turns the results into the table, ratio and goal included.
func rows(res results) []row {
	p := res.Process
	pick := func(key string, f func(procFigures) float64) float64 {
		return over(p, func(m map[string]procFigures) float64 { return f(m[key]) })
	}
	// startup leaves out runs whose extension never reached a full state.
	startup := func(f func(procFigures) float64) func(procFigures) float64 {
		return func(pf procFigures) float64 {
			if pf.Stuck != "" {
				return math.NaN()
			}
			return f(pf)
		}
	}
	own := func(key, base string, f func(procFigures) float64) float64 {
		return over(p, func(m map[string]procFigures) float64 { return f(m[key]) - f(m[base]) })
	}
	rssMiB := func(f procFigures) float64 { return float64(f.RSS) / (1 << 20) }
	cpuPerMin := func(f procFigures) float64 { return ms(f.CPU) * float64(time.Minute) / float64(f.Window) }
	perHour := func(n int, f procFigures) float64 { return float64(n) * float64(time.Hour) / float64(f.Window) }
	hbSize := func(f procFigures) float64 {
		if f.HeartbeatMessages == 0 {
			return math.NaN()
		}
		return float64(f.HeartbeatBytes) / float64(f.HeartbeatMessages)
	}

	var out []row
	add := func(r row) { out = append(out, r) }
	// starts are every start of the distros, the process runs' and the
	// extra ones; both is a start-up time of ours and contrib's, medians
	// over them.
	starts := append(append([]map[string]procFigures(nil), p...), res.Startups...)
	pickStart := func(key string, f func(procFigures) float64) float64 {
		return over(starts, func(m map[string]procFigures) float64 { return f(m[key]) })
	}
	both := func(f func(procFigures) float64) (float64, float64) {
		return pickStart(ours, startup(f)), pickStart(contrib, startup(f))
	}
	// logged leaves out runs whose Collector did not log the line read.
	logged := func(f func(procFigures) float64) func(procFigures) float64 {
		return func(pf procFigures) float64 {
			if !pf.HasReady {
				return math.NaN()
			}
			return f(pf)
		}
	}
	fOurs, fContrib := both(func(f procFigures) float64 { return ms(f.FirstMessage) })
	add(row{figure: "exec → first message (ms)", ours: fOurs, contrib: fContrib, ref: "55"})
	sOurs, sContrib := both(logged(func(f procFigures) float64 { return ms(f.FirstMessage - f.ExtensionStart) }))
	add(row{figure: "… of which opamp extension starting (its log line) → first message (ms)", digits: 1, ours: sOurs, contrib: sContrib})
	readyMs := logged(func(f procFigures) float64 { return ms(f.Ready) })
	cOursReady, cContribReady := both(readyMs)
	add(row{figure: "exec → \"Everything is ready\" (ms)", ours: cOursReady, contrib: cContribReady})
	add(row{figure: "… the same distro without an opamp extension (ms)", ours: pickStart(baseline, readyMs), contrib: pickStart(baselineContrib, readyMs)})
	ownReady := func(key, base string) float64 {
		return over(starts, func(m map[string]procFigures) float64 {
			if m[key].Stuck != "" || !m[key].HasReady || !m[base].HasReady {
				return math.NaN()
			}
			return ms(m[key].Ready - m[base].Ready)
		})
	}
	add(row{figure: "… difference: the extension's own cost before \"Everything is ready\" (ms)", digits: 1,
		ours: ownReady(ours, baseline), contrib: ownReady(contrib, baselineContrib)})
	rhOurs, rhContrib := both(logged(func(f procFigures) float64 { return ms(f.ReadyToHealthy) }))
	add(row{figure: "\"Everything is ready\" → first healthy at the server (the extension's share; ms)", digits: 1,
		ours: rhOurs, contrib: rhContrib, goal: "≤ contrib", met: ptr(rhOurs <= rhContrib)})
	hOurs, hContrib := both(func(f procFigures) float64 { return ms(f.Healthy) })
	add(row{figure: "exec → healthy (ms)", ours: hOurs, contrib: hContrib, ref: "55", goal: "≤ contrib", met: ptr(hOurs <= hContrib)})
	add(row{figure: "starts measured per distro (runs × (1 + startups))", ours: float64(len(starts)), contrib: float64(len(starts))})
	add(row{figure: "first full report (bytes)", ref: "416",
		ours: pick(ours, startup(func(f procFigures) float64 { return float64(f.FirstReportBytes) })), contrib: pick(contrib, startup(func(f procFigures) float64 { return float64(f.FirstReportBytes) }))})
	add(row{figure: "first full report (messages)",
		ours: pick(ours, startup(func(f procFigures) float64 { return float64(f.FirstReportMsgs) })), contrib: pick(contrib, startup(func(f procFigures) float64 { return float64(f.FirstReportMsgs) }))})
	stuckRuns := func(key string) float64 {
		n := 0
		for _, m := range p {
			if m[key].Stuck != "" {
				n++
			}
		}
		return float64(n)
	}
	add(row{figure: "runs whose start-up never reached a full state", ours: stuckRuns(ours), contrib: stuckRuns(contrib),
		goal: "0", met: ptr(stuckRuns(ours) == 0)})
	add(row{figure: "idle RSS of the distro (MiB)", digits: 1,
		ours: pick(ours, rssMiB), contrib: pick(contrib, rssMiB)})
	rOurs, rContrib := own(ours, baseline, rssMiB), own(contrib, baselineContrib, rssMiB)
	add(row{figure: "idle RSS, extension's own (MiB)", digits: 2, ours: rOurs, contrib: rContrib, ref: "+2.7 MB",
		goal: "≤ 0.5 × contrib", met: ptr(rOurs <= 0.5*rContrib)})
	anonMiB := func(f procFigures) float64 { return float64(f.RSSAnon) / (1 << 20) }
	fileMiB := func(f procFigures) float64 { return float64(f.RSSFile) / (1 << 20) }
	add(row{figure: "… of which anonymous (heap, stacks)", digits: 2, ours: own(ours, baseline, anonMiB), contrib: own(contrib, baselineContrib, anonMiB)})
	add(row{figure: "… of which file-backed (code, data)", digits: 2, ours: own(ours, baseline, fileMiB), contrib: own(contrib, baselineContrib, fileMiB)})
	cOurs, cContrib := own(ours, baseline, cpuPerMin), own(contrib, baselineContrib, cpuPerMin)
	// A negative figure is the baseline's noise, not a measurement: no verdict.
	cpuGoal, cpuMet := "≤ 0.5 × contrib", ptr(cOurs <= 0.5*cContrib)
	if cOurs < 0 || cContrib < 0 {
		cpuGoal, cpuMet = "≤ 0.5 × contrib (no verdict: below the baseline's noise)", nil
	}
	add(row{figure: "idle CPU, extension's own (ms/min)", digits: 2, ours: cOurs, contrib: cContrib, ref: "~1",
		goal: cpuGoal, met: cpuMet})
	idleOK := true
	maxIdle := int(math.Ceil(float64(res.Window) / float64(heartbeatInterval)))
	for _, m := range p {
		f := m[ours]
		idleOK = idleOK && f.IdleMessages == f.HeartbeatMessages && f.IdleMessages <= maxIdle
	}
	add(row{figure: "idle messages per hour", ref: "120", goal: "heartbeats only (1 per 30 s)", met: ptr(idleOK),
		ours:    pick(ours, func(f procFigures) float64 { return perHour(f.IdleMessages, f) }),
		contrib: pick(contrib, func(f procFigures) float64 { return perHour(f.IdleMessages, f) })})
	add(row{figure: "idle bytes per hour", ref: "2880",
		ours:    pick(ours, func(f procFigures) float64 { return perHour(f.IdleBytes, f) }),
		contrib: pick(contrib, func(f procFigures) float64 { return perHour(f.IdleBytes, f) })})
	hb := pick(ours, hbSize)
	add(row{figure: "bytes per heartbeat", digits: 1, ours: hb, contrib: pick(contrib, hbSize), ref: "24",
		goal: fmt.Sprintf("≤ %.1f (floor %.0f + 10%%)", heartbeatFloor*heartbeatTolerance, heartbeatFloor), met: ptr(hb <= heartbeatFloor*heartbeatTolerance)})

	if len(res.Repeat) > 0 {
		rp := func(key string, f func(repeatFigures) float64) float64 {
			return over(res.Repeat, func(m map[string]repeatFigures) float64 { return f(m[key]) })
		}
		perMin := func(n int, w time.Duration) float64 { return float64(n) * float64(time.Minute) / float64(w) }
		extraOurs := rp(ours, func(f repeatFigures) float64 { return perMin(f.Content, f.Window) })
		add(row{figure: "same status every 1 s: messages per minute",
			ours:    rp(ours, func(f repeatFigures) float64 { return perMin(f.Messages, f.Window) }),
			contrib: rp(contrib, func(f repeatFigures) float64 { return perMin(f.Messages, f.Window) })})
		add(row{figure: "same status every 1 s: non-heartbeat messages per minute", ours: extraOurs,
			contrib: rp(contrib, func(f repeatFigures) float64 { return perMin(f.Content, f.Window) }),
			goal:    "0", met: ptr(extraOurs == 0)})
		add(row{figure: "same status every 1 s: bytes per minute",
			ours:    rp(ours, func(f repeatFigures) float64 { return perMin(f.Bytes, f.Window) }),
			contrib: rp(contrib, func(f repeatFigures) float64 { return perMin(f.Bytes, f.Window) })})
	}

	if len(res.Fleet) > 0 {
		fl := func(key string, f func(fleetFigures) float64) float64 {
			return over(res.Fleet, func(m map[string]fleetFigures) float64 { return f(m[key]) })
		}
		n := res.N
		liveOurs, liveContrib := fl(ours, func(f fleetFigures) float64 { return f.HeapAllocPerAgent / 1024 }), fl(contrib, func(f fleetFigures) float64 { return f.HeapAllocPerAgent / 1024 })
		add(row{figure: fmt.Sprintf("fleet of %d: live heap per agent (KiB)", n), digits: 1, ours: liveOurs, contrib: liveContrib,
			goal: "≤ 0.7 × contrib", met: ptr(liveOurs <= 0.7*liveContrib)})
		heapOurs, heapContrib := fl(ours, func(f fleetFigures) float64 { return f.HeapPerAgent / 1024 }), fl(contrib, func(f fleetFigures) float64 { return f.HeapPerAgent / 1024 })
		add(row{figure: "fleet: heap spans in use per agent (KiB)", digits: 1, ours: heapOurs, contrib: heapContrib,
			ref: "70 (server in-process)", goal: "≤ 0.7 × contrib", met: ptr(heapOurs <= 0.7*heapContrib)})
		cpuPerAgent := func(f fleetFigures) float64 {
			if f.IdleWindow == 0 {
				return math.NaN()
			}
			return float64(f.IdleCPU) / float64(time.Microsecond) / float64(f.N) * float64(time.Minute) / float64(f.IdleWindow)
		}
		fcOurs, fcContrib := fl(ours, cpuPerAgent), fl(contrib, cpuPerAgent)
		add(row{figure: "fleet: idle CPU per agent (µs/min)", digits: 1, ours: fcOurs, contrib: fcContrib,
			goal: "≤ 0.5 × contrib", met: ptr(fcOurs <= 0.5*fcContrib)})
		sum := func(key string, f func(fleetFigures) int) float64 {
			t := 0
			for _, m := range res.Fleet {
				t += f(m[key])
			}
			return float64(t)
		}
		stuckOurs := sum(ours, func(f fleetFigures) int { return f.StuckAtStart + f.StuckAfterOutage })
		add(row{figure: fmt.Sprintf("fleet: agents stuck without a full state (all %d runs, start + resync)", len(res.Fleet)), ours: stuckOurs,
			contrib: sum(contrib, func(f fleetFigures) int { return f.StuckAtStart + f.StuckAfterOutage }), goal: "0", met: ptr(stuckOurs == 0)})
		add(row{figure: "fleet: goroutines per agent", digits: 1, ref: "7 (server in-process)",
			ours: fl(ours, func(f fleetFigures) float64 { return f.GoroutinesPerAgent }), contrib: fl(contrib, func(f fleetFigures) float64 { return f.GoroutinesPerAgent })})
		add(row{figure: "fleet: first Start → every agent's full state (s)", digits: 2,
			ours: fl(ours, func(f fleetFigures) float64 { return f.AllFull.Seconds() }), contrib: fl(contrib, func(f fleetFigures) float64 { return f.AllFull.Seconds() })})
		add(row{figure: "fleet: payload bytes per agent until full", digits: 0,
			ours: fl(ours, func(f fleetFigures) float64 { return f.BytesPerAgent }), contrib: fl(contrib, func(f fleetFigures) float64 { return f.BytesPerAgent })})
		add(row{figure: "fleet: wire bytes per agent until full", digits: 0, ref: "1200",
			ours: fl(ours, func(f fleetFigures) float64 { return f.WireBytesPerAgent }), contrib: fl(contrib, func(f fleetFigures) float64 { return f.WireBytesPerAgent })})
		resync := fl(ours, func(f fleetFigures) float64 { return f.Resync.Seconds() })
		add(row{figure: fmt.Sprintf("fleet: server back after %s → all resynced (s)", res.Outage), digits: 2, ours: resync,
			contrib: fl(contrib, func(f fleetFigures) float64 { return f.Resync.Seconds() }), ref: "3.6",
			goal: fmt.Sprintf("≤ spread + 5 s = %.0f s", ourSpread.Seconds()+5), met: ptr(resync <= ourSpread.Seconds()+5)})
		peak := fl(ours, func(f fleetFigures) float64 { return float64(f.PeakAttempts) })
		maxPeak := 2 * float64(n) / ourSpread.Seconds()
		add(row{figure: "fleet: peak connection attempts per second", ref: "494", goal: fmt.Sprintf("≤ 2N/spread = %.0f", maxPeak),
			ours: peak, contrib: fl(contrib, func(f fleetFigures) float64 { return float64(f.PeakAttempts) }), met: ptr(peak <= maxPeak)})
	}
	return out
}

// ourSpread is server.ws.reconnect_spread as the fleet runs it: the
// extension's default (contrib's extension has no such setting).
const ourSpread = 5 * time.Second

// table renders rows as a Markdown table.
func table(rs []row) string {
	var b strings.Builder
	b.WriteString("| figure | ours | contrib v0.158.0 | ours/contrib | goal | met | contrib, earlier run |\n")
	b.WriteString("| --- | ---: | ---: | ---: | --- | :---: | ---: |\n")
	for _, r := range rs {
		met := ""
		if r.met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*r.met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.figure, num(r.ours, r.digits), num(r.contrib, r.digits), ratio(r.ours, r.contrib), r.goal, met, r.ref)
	}
	return b.String()
}

func num(v float64, digits int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", digits, v)
}

// ratio is ours/contrib; meaningless when contrib is zero or the signs differ.
func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 || (a < 0) != (b < 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}
