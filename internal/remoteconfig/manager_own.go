package remoteconfig

import (
	"bytes"
	"context"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
)

// ReceiveOwnTelemetry takes the own-telemetry part of a
// ConnectionSettingsOffers without blocking (the latest wins over any not
// handled yet). The caller passes only the parts of capabilities the
// agent advertises (ReportsOwnMetrics, ReportsOwnLogs, ReportsOwnTraces);
// an offers message with none of the three is ignored: its OpAMP part is
// the caller's, and so is its status.
func (m *Manager) ReceiveOwnTelemetry(offers *protobufs.ConnectionSettingsOffers) {
	if len(offerParts(offers)) == 0 {
		return
	}
	m.enqueue(nil, offers)
}

// handleOwn takes one offers message to FAILED, APPLIED (same hash as the
// last handled, or the same destinations) or APPLYING and a reload, as
// handle does a remote config: the layer is a candidate over the remote
// config in force, validated merged, persisted, reloaded into, confirmed
// healthy or rolled back.
func (m *Manager) handleOwn(ctx context.Context, offers *protobufs.ConnectionSettingsOffers) {
	st, err := m.store.load()
	if err != nil {
		m.set.Logger.Warn("Cannot read the remote configuration state", zap.Error(err))
	}
	hash := offers.GetHash()
	if st.OwnStatus.Status != "" && bytes.Equal(st.OwnStatus.Hash, hash) {
		return // already handled: no reload for the same hash
	}
	setStatus := func(s protobufs.RemoteConfigStatuses, msg string) {
		m.saveOwn(func(st *State) { st.OwnStatus = status(hash, s, msg) })
	}
	own, err := applyOffer(st.Active.own(), offers, m.set.OwnMetricsInterval)
	if err != nil {
		m.set.Logger.Warn("Refusing the own telemetry offer", zap.Error(err))
		setStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, err.Error())
		return
	}
	if own.sameContent(st.Active.own()) {
		m.saveOwn(func(st *State) {
			if st.Active != nil && st.Active.Own != nil {
				st.Active.Own.Hash = bytes.Clone(hash)
			}
			st.OwnStatus = status(hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, "")
		})
		return
	}
	cand := st.Active.files()
	cand.Own = own
	if err := m.check(ctx, cand); err != nil {
		m.set.Logger.Warn("Refusing the own telemetry offer", zap.Error(err))
		setStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, err.Error())
		return
	}
	if err := writeOwnFiles(m.set.Dir, own); err != nil {
		m.set.Logger.Warn("Cannot write the own telemetry certificates", zap.Error(err))
		setStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, "cannot write the offered certificates: "+err.Error())
		return
	}
	m.saveOwn(func(st *State) {
		st.Candidate, st.Owner, st.Loaded, st.Since, st.Kind = cand, processToken, false, time.Now(), KindOwnTelemetry
		st.OwnStatus = status(hash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING, "")
	})
	m.set.Logger.Info("Applying an own telemetry offer: reloading the Collector")
	watchTermination()
	m.reload()
}

// saveOwn changes the state and reports the own-telemetry status it
// leaves; these are decisions taken without a reload.
func (m *Manager) saveOwn(f func(st *State)) {
	st, err := m.store.update(func(st *State) bool { f(st); return true })
	if err != nil {
		m.set.Logger.Error("Cannot save the remote configuration state", zap.Error(err))
	}
	m.reportOwn(st.OwnStatus)
}

// reportKind reports the status a decision on a candidate of kind left.
func (m *Manager) reportKind(kind string, st State) {
	if kind == KindOwnTelemetry {
		m.reportOwn(st.OwnStatus)
		return
	}
	m.report(st.Status)
}

func (m *Manager) reportOwn(s Status) {
	if p := s.connProto(); p != nil && m.set.ReportConnection != nil {
		m.set.ReportConnection(p)
	}
}

// removeOwnFiles removes the certificate files of layers no longer in
// force nor being applied.
func (m *Manager) removeOwnFiles(st State) {
	if err := removeOwnFiles(m.set.Dir, st.Active.own(), st.Candidate.own()); err != nil {
		m.set.Logger.Debug("Cannot remove old own telemetry certificates", zap.Error(err))
	}
}

func kindName(kind string) string {
	if kind == "" {
		return "remote_config"
	}
	return kind
}

// connProto renders an own-telemetry status for the client; nil before
// any offer.
func (s Status) connProto() *protobufs.ConnectionSettingsStatus {
	if s.Status == "" {
		return nil
	}
	st := map[string]protobufs.ConnectionSettingsStatuses{
		protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED.String():  protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED,
		protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING.String(): protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING,
		protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED.String():   protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED,
	}[s.Status]
	return &protobufs.ConnectionSettingsStatus{
		LastConnectionSettingsHash: bytes.Clone(s.Hash),
		Status:                     st,
		ErrorMessage:               s.Error,
	}
}
