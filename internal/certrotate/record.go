package certrotate

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opampext/opampextension/internal/persist"
)

// record is what the state directory keeps for one extension instance,
// under one key so that every change (a new pending key, the pending key
// becoming the accepted one) is one atomic Put.
type record struct {
	Version int `json:"version"`
	// PendingKey is the PEM key of the request that has no accepted
	// answer yet: kept so that an offer arriving after a restart still
	// completes.
	PendingKey string `json:"pending_key,omitempty"`
	// RequestedAt is when the pending request was last sent: the pacing
	// survives a restart, so a crash-looping agent does not send a CSR
	// per start.
	RequestedAt time.Time `json:"requested_at,omitzero"`
	// AcceptedKey and AcceptedCert are the key and certificate of the
	// last round that was applied, for the next start.
	AcceptedKey  string `json:"accepted_key,omitempty"`
	AcceptedCert string `json:"accepted_cert,omitempty"`
}

const recordVersion = 1

// errBadRecord is returned for a stored record that does not decode; the
// message never quotes it, since it holds keys.
var errBadRecord = errors.New("certrotate: the stored certificate state does not decode")

// StoreKey is the state directory key for a component's certificate state,
// "certificate_key.opamp" for component "opamp": characters a file name
// may not carry become '_', as for the instance uid's key.
func StoreKey(componentID string) string { return persist.KeyFor("certificate_key", componentID) }

// loadRecord reads the record; a missing one is the zero record.
func loadRecord(store persist.Store, key string) (record, error) {
	b, ok, err := store.Get(key)
	if err != nil {
		return record{}, fmt.Errorf("certrotate: reading the certificate state: %w", err)
	}
	if !ok || len(b) == 0 {
		return record{}, nil
	}
	var r record
	if json.Unmarshal(b, &r) != nil || r.Version != recordVersion {
		return record{}, errBadRecord
	}
	return r, nil
}

// saveRecord writes the record in one atomic Put.
func saveRecord(store persist.Store, key string, r record) error {
	r.Version = recordVersion
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("certrotate: encoding the certificate state: %w", err)
	}
	if err := store.Put(key, b); err != nil {
		return fmt.Errorf("certrotate: saving the certificate state: %w", err)
	}
	return nil
}
