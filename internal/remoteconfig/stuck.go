package remoteconfig

import (
	"bytes"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
)

// A reloaded service whose Start never returns (an extension waiting for
// a token file that never appears, any component whose Start blocks)
// keeps core's Run loop inside that Start: the reload a rollback sends
// (SIGHUP) is never handled, and the Collector would stay on the stuck
// candidate with none of the last healthy config's pipelines running.
// Extensions start before the pipelines, so the instance whose health
// watch decides the rollback is the stuck service's own; it executes the
// process again itself (Settings.Restart) once the candidate is FAILED on
// disk, and the new process image resolves the last healthy config. The
// rules of a failed start hold (restart.go): never after SIGTERM or
// SIGINT during the apply, at most once per candidate.

// neverReadied: the pipelines of the watched instance never became
// ready, so its service has not finished starting.
func (h *healthWatch) neverReadied() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.readied
}

// restartStuck executes the process again after the rollback of the
// candidate (hash, kind) whose service never finished starting. false:
// it did not (no Restart, a termination signal, restarted for it before,
// or the exec failed), and the caller rolls back by a reload, which takes
// effect if that Start ever returns.
func (m *Manager) restartStuck(hash []byte, kind string) bool {
	if m.set.Restart == nil || !m.mayRestart(hash, kind) {
		return false
	}
	m.mu.Lock()
	m.handedOff = true // nothing more is applied by this process image
	m.mu.Unlock()
	m.set.Logger.Warn("The Collector did not finish starting with the remote configuration; restarting the process on the last healthy configuration",
		zap.Duration("apply_timeout", m.set.ApplyTimeout))
	_ = m.set.Logger.Sync() // stderr may not support fsync
	if err := m.set.Restart(); err != nil {
		m.set.Logger.Error("Cannot restart the process: it keeps running, rolled back by a reload that takes effect only if the stuck start ends", zap.Error(err))
		return false
	}
	return true
}

// mayRestart decides whether the process may execute itself again for
// the failed candidate (hash, kind) and, when it may, records so in the
// state first: a process restarted for a candidate is never restarted
// for it again. nil hash: there was no candidate (the last healthy config
// itself failed).
func (m *Manager) mayRestart(hash []byte, kind string) bool {
	if hash == nil {
		return false
	}
	if terminationSeen() {
		m.set.Logger.Info("The process was asked to end during the apply: not restarting it")
		return false
	}
	restart := false
	_, err := m.store.update(func(st *State) bool {
		s := st.statusOf(kind)
		if s.Status != protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED.String() ||
			!bytes.Equal(s.Hash, hash) || bytes.Equal(st.Restarted, hash) {
			return false
		}
		st.Restarted = bytes.Clone(hash)
		restart = true
		return true
	})
	if err != nil {
		m.set.Logger.Error("Cannot save the remote configuration state: not restarting the process", zap.Error(err))
		return false
	}
	return restart
}
