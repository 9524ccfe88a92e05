package remoteconfig

import (
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// Counts are what happened to remote configurations in this process. They
// are kept here, not in the extension's instruments: every apply reloads
// the Collector, which replaces the meter and every extension instance,
// so counts held by an instance would restart at zero on each apply.
type Counts struct {
	Received, Applied, Failed, RolledBack int64
	// LastApply is the duration of the last apply that reloaded the
	// Collector, from APPLYING to APPLIED or to the rollback decision.
	LastApply time.Duration
}

var counts struct {
	received, applied, failed, rolledBack, lastApply atomic.Int64
}

// Totals returns the process's counts.
func Totals() Counts {
	return Counts{
		Received:   counts.received.Load(),
		Applied:    counts.applied.Load(),
		Failed:     counts.failed.Load(),
		RolledBack: counts.rolledBack.Load(),
		LastApply:  time.Duration(counts.lastApply.Load()),
	}
}

// countStatus counts a status just saved. rolledBack: the Collector had
// been reloaded into the failed config. since: when its apply began
// (zero: no reload was involved, or its start is unknown).
func countStatus(s protobufs.RemoteConfigStatuses, rolledBack bool, since time.Time) {
	switch s {
	case protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED:
		counts.applied.Add(1)
	case protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED:
		counts.failed.Add(1)
		if rolledBack {
			counts.rolledBack.Add(1)
		}
	default:
		return
	}
	if !since.IsZero() {
		counts.lastApply.Store(int64(time.Since(since)))
	}
}
