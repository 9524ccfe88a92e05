// Package remoteconfig applies an OpAMP server's remote configuration to
// the Collector in-process: it checks the server's YAML (lock-out, config
// providers, component lists), validates the merged config with the
// distro's own factories, persists the candidate, reloads the Collector,
// watches the new instance's health and rolls back when it is not healthy
// in time. Its state lives in one file of the extension's state directory,
// replaced atomically on every change, so that a crash or kill -9 at any
// point leaves either the old or the new state and the next start runs the
// last healthy configuration. The own-telemetry destinations a server
// offers in ConnectionSettingsOffers are one more layer of the same
// state, applied the same way (ownlayer.go).
//
// Two parties share that state in one process: the confmap converter
// (Convert), which merges the active remote config over the local config
// on every resolve, and the extension's Manager, which drives an apply
// across the reload (the reload builds a new extension instance, which
// learns from the state that it continues an apply).
package remoteconfig // import "github.com/opampext/opampextension/internal/remoteconfig"

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/persist"
)

// stateKey is the state file's name in the state directory.
const stateKey = "remote-config.json"

// File is one entry of the server's config map.
type File struct {
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body"`
}

// Config is a remote configuration: the server's config map and its hash.
type Config struct {
	Hash  []byte          `json:"hash"`
	Files map[string]File `json:"files,omitempty"`
	// Own is the own-telemetry layer, merged over the files.
	Own *OwnTelemetry `json:"own_telemetry,omitempty"`
}

// own is c's own-telemetry layer; nil for none.
func (c *Config) own() *OwnTelemetry {
	if c == nil {
		return nil
	}
	return c.Own
}

// files is a config with c's files only: the remote config without the
// own-telemetry layer.
func (c *Config) files() *Config {
	if c == nil {
		return &Config{}
	}
	return &Config{Hash: c.Hash, Files: c.Files}
}

// sameContent: two configs with the same files are the same config,
// whatever their hashes. A nil config is the empty one (local only).
func (c *Config) sameContent(o *Config) bool {
	var a, b map[string]File
	if c != nil {
		a = c.Files
	}
	if o != nil {
		b = o.Files
	}
	return maps.Equal(a, b)
}

// Status is what the server is told about the config it last sent.
type Status struct {
	Hash   []byte `json:"hash,omitempty"`
	Status string `json:"status,omitempty"` // a protobufs.RemoteConfigStatuses name
	Error  string `json:"error,omitempty"`
}

// proto renders the status for the client; nil before any remote config.
func (s Status) proto() *protobufs.RemoteConfigStatus {
	if s.Status == "" {
		return nil
	}
	return &protobufs.RemoteConfigStatus{
		LastRemoteConfigHash: bytes.Clone(s.Hash),
		Status:               protobufs.RemoteConfigStatuses(protobufs.RemoteConfigStatuses_value[s.Status]),
		ErrorMessage:         s.Error,
	}
}

func status(hash []byte, st protobufs.RemoteConfigStatuses, msg string) Status {
	return Status{Hash: bytes.Clone(hash), Status: st.String(), Error: msg}
}

// State is the whole persisted state.
type State struct {
	// Active is the last remote config the Collector ran healthy; nil:
	// the local config alone.
	Active *Config `json:"active,omitempty"`
	// Candidate is a config being applied. Owner is the token of the
	// process that wrote it: only that process may load it. A candidate
	// of another process is one whose apply never confirmed it healthy
	// (kill -9, a reload that ended the process): it has failed.
	Candidate *Config `json:"candidate,omitempty"`
	Owner     string  `json:"owner,omitempty"`
	// Loaded is set by the converter when a resolve merged the candidate.
	Loaded bool `json:"loaded,omitempty"`
	// Since is when the candidate's apply began (APPLYING).
	Since time.Time `json:"since,omitzero"`
	// Status is reported after every reconnect and restart.
	Status Status `json:"status"`
	// Kind is what the candidate changes: "" the remote config (its
	// status is Status), KindOwnTelemetry the own-telemetry layer (its
	// status is OwnStatus).
	Kind string `json:"kind,omitempty"`
	// OwnStatus is the status of the own-telemetry part of the offers
	// last handled, under their hash; reported as a
	// ConnectionSettingsStatus after every reconnect and restart.
	OwnStatus Status `json:"own_telemetry_status,omitzero"`
	// Restarted is the hash of the last candidate whose failed start made
	// the process execute itself again: at most once per candidate.
	Restarted []byte `json:"restarted,omitempty"`
}

// dropCandidate ends the apply under way, if any.
func (st *State) dropCandidate() {
	st.Candidate, st.Owner, st.Loaded, st.Since, st.Kind = nil, "", false, time.Time{}, ""
}

// setCandidateStatus sets the status the candidate's kind reports.
func (st *State) setCandidateStatus(s protobufs.RemoteConfigStatuses, msg string) {
	if st.Kind == KindOwnTelemetry {
		st.OwnStatus = status(st.Candidate.own().hash(), s, msg)
		return
	}
	st.Status = status(st.Candidate.Hash, s, msg)
}

// statusOf is the status of a kind of candidate.
func (st *State) statusOf(kind string) Status {
	if kind == KindOwnTelemetry {
		return st.OwnStatus
	}
	return st.Status
}

// processToken tells this process from the ones before it.
var processToken = newToken()

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// dirLocks serialise every read-modify-write of one state directory
// within the process (the converter's and the manager's).
var (
	dirLocksMu sync.Mutex
	dirLocks   = map[string]*sync.Mutex{}
)

func dirLock(dir string) *sync.Mutex {
	dirLocksMu.Lock()
	defer dirLocksMu.Unlock()
	l, ok := dirLocks[dir]
	if !ok {
		l = &sync.Mutex{}
		dirLocks[dir] = l
	}
	return l
}

// store is the state of one directory.
type store struct {
	dir  string
	disk *persist.Dir
}

func openStore(dir string) (*store, error) {
	d, err := persist.NewDir(dir)
	if err != nil {
		return nil, err
	}
	return &store{dir: dir, disk: d}, nil
}

// update loads the state, lets f change it and saves it when f says it
// changed, all under the directory's lock. It returns the state as f left
// it. A state file that cannot be decoded is an error: it is never
// silently replaced (a human may want it).
func (s *store) update(f func(st *State) (changed bool)) (State, error) {
	l := dirLock(s.dir)
	l.Lock()
	defer l.Unlock()
	var st State
	raw, ok, err := s.disk.Get(stateKey)
	if err != nil {
		return st, err
	}
	if ok {
		if err := json.Unmarshal(raw, &st); err != nil {
			return State{}, fmt.Errorf("remote config state %s: %w", stateKey, err)
		}
	}
	if f == nil || !f(&st) {
		return st, nil
	}
	out, err := json.Marshal(&st)
	if err != nil {
		return st, err
	}
	return st, s.disk.Put(stateKey, out)
}

func (s *store) load() (State, error) { return s.update(nil) }
