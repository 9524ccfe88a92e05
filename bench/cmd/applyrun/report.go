package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Goals from the project's issue 12.
const (
	maxOfSupervisor = 0.1 // in-process APPLIED at most a tenth of the Supervisor's
	maxOfReload     = 2.0 // and at most twice the Collector's own reload
)

// stat is the median and range of one figure over the runs; n is 0 when
// the mode has no such figure.
type stat struct {
	median, min, max float64
	n                int
}

func statOf(samples []sample, mode string, f func(sample) time.Duration) stat {
	var v []float64
	for _, s := range samples {
		if d := f(s); s.Mode == mode && d > 0 {
			v = append(v, float64(d)/float64(time.Millisecond))
		}
	}
	if len(v) == 0 {
		return stat{median: math.NaN()}
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stat{median: m, min: v[0], max: v[len(v)-1], n: len(v)}
}

func (s stat) String() string {
	switch s.n {
	case 0:
		return "–"
	case 1:
		return fmt.Sprintf("%.0f", s.median)
	}
	return fmt.Sprintf("%.0f (%.0f–%.0f)", s.median, s.min, s.max)
}

// row is one line of the table: a figure per mode, and a goal with its
// verdict (nil: no verdict).
type row struct {
	figure string
	cells  [3]stat // inProcess, supervised, sighup
	goal   string
	met    *bool
}

// rows turns the samples into the table; verdict false (one quick run)
// states the goals without judging them.
func rows(samples []sample, verdict bool) []row {
	all := func(f func(sample) time.Duration) [3]stat {
		var c [3]stat
		for i, m := range modes {
			c[i] = statOf(samples, m, f)
		}
		return c
	}
	applied := all(func(s sample) time.Duration { return s.Applied })
	healthy := all(func(s sample) time.Duration { return s.Healthy })
	a, sup, rel := applied[0].median, applied[1].median, healthy[2].median
	judge := func(ok bool, figures ...float64) *bool {
		for _, f := range figures {
			if math.IsNaN(f) {
				return nil
			}
		}
		if !verdict {
			return nil
		}
		return &ok
	}
	ratio := func(x, y float64) string {
		if math.IsNaN(x) || math.IsNaN(y) || y == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", x/y)
	}
	noVerdict := ""
	if !verdict {
		noVerdict = " (no verdict: a quick run)"
	}
	return []row{
		{figure: "the server sends the change → APPLIED at the server (ms)", cells: applied,
			goal: fmt.Sprintf("in-process ≤ %.1f × Supervisor's: %s%s", maxOfSupervisor, ratio(a, sup), noVerdict),
			met:  judge(a <= maxOfSupervisor*sup, a, sup)},
		{figure: "in-process APPLIED beside the Collector's own reload (SIGHUP → new pipeline healthy at the server; ms)",
			cells: [3]stat{applied[0], {median: math.NaN()}, healthy[2]},
			goal:  fmt.Sprintf("in-process ≤ %.0f × reload: %s%s", maxOfReload, ratio(a, rel), noVerdict),
			met:   judge(a <= maxOfReload*rel, a, rel)},
		{figure: "… → the new pipeline healthy at the server (the restart or reload done; ms)", cells: healthy},
		{figure: "… → APPLYING at the server (ms)", cells: all(func(s sample) time.Duration { return s.Applying })},
		{figure: "… → our extension logs \"reloading the Collector\" (received, merged, validated, persisted; ms)",
			cells: all(func(s sample) time.Duration { return s.Reloading })},
		{figure: "… → core logs \"Starting otelcol-opamp...\" (the new config resolved, the service built; ms)",
			cells: all(func(s sample) time.Duration { return s.Starting })},
		{figure: "… → core logs \"Everything is ready\" (the rebuilt service runs; ms)",
			cells: all(func(s sample) time.Duration { return s.Ready })},
	}
}

// table renders rows as Markdown, each cell the median and, over several
// runs, the range.
func table(rs []row, runs int) string {
	var b strings.Builder
	of := fmt.Sprintf("median (min–max) of %d runs", runs)
	if runs == 1 {
		of = "one run"
	}
	fmt.Fprintf(&b, "| figure (%s) | in-process (ours) | OpAMP Supervisor v0.158.0 + ours | Collector's own reload (SIGHUP) | goal | met |\n", of)
	b.WriteString("| --- | ---: | ---: | ---: | --- | :---: |\n")
	for _, r := range rs {
		met := ""
		if r.met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*r.met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.figure, r.cells[0], r.cells[1], r.cells[2], r.goal, met)
	}
	return b.String()
}
