package remoteconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// DisableEnv, set in the environment, turns the converter off: the
// validation run of a candidate (this binary's `validate` on the merged
// config) must check exactly the file it is given.
const DisableEnv = "OPAMPEXT_REMOTE_CONFIG_OFF"

// Keys of the opamp extension's config the converter reads.
const (
	KeyAccepts = "capabilities::accepts_remote_config"
	KeyDir     = "storage::directory"
)

// target is the opamp extension that accepts remote config or reports
// its own telemetry (or both).
type target struct {
	rules  Rules
	dir    string
	remote bool     // accepts_remote_config
	own    []Signal // reports_own_*
	// configuredUID is the extension's instance_uid as written; uid is
	// the agent's instance uid as the converter knows it (configured, or
	// the one its last instance used), "" when unknown.
	configuredUID, uid string
}

// findTarget finds the opamp extension (type "opamp") that accepts remote
// config. More than one is an error: their remote configs would fight.
func findTarget(conf *confmap.Conf) (target, bool, error) {
	exts, err := conf.Sub("extensions")
	if err != nil {
		return target{}, false, nil //nolint:nilerr // no extensions map: no opamp extension to serve
	}
	ids := make([]string, 0)
	for id := range exts.ToStringMap() {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var found []target
	for _, id := range ids {
		if typ, _, _ := strings.Cut(id, "/"); typ != "opamp" {
			continue
		}
		ext, err := exts.Sub(id)
		if err != nil || (!truthy(ext.Get(KeyAccepts)) && len(ownSignals(ext)) == 0) {
			continue
		}
		dir, _ := ext.Get(KeyDir).(string)
		t := target{dir: dir, rules: Rules{Own: id}, remote: truthy(ext.Get(KeyAccepts)), own: ownSignals(ext)}
		t.configuredUID, _ = ext.Get("instance_uid").(string)
		for _, tr := range []string{"ws", "http"} {
			if auth, ok := ext.Get("server::" + tr + "::auth").(string); ok && auth != "" {
				t.rules.Protected = append(t.rules.Protected, auth)
			}
		}
		found = append(found, t)
	}
	switch len(found) {
	case 0:
		return target{}, false, nil
	case 1:
		if found[0].dir == "" {
			// The extension's Validate reports it; the converter leaves
			// the config alone.
			return target{}, false, nil
		}
		return found[0], true, nil
	default:
		return target{}, false, fmt.Errorf("more than one opamp extension accepts remote configuration (%s, %s)", found[0].rules.Own, found[1].rules.Own)
	}
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// locals keeps, per state directory, the local config of the last resolve
// (before the remote part was merged): a candidate is validated merged
// over it.
var (
	localsMu sync.Mutex
	locals   = map[string]map[string]any{}
)

func rememberLocal(dir string, m map[string]any) {
	localsMu.Lock()
	defer localsMu.Unlock()
	locals[dir] = m
}

// localConfig returns a copy of the local config last resolved for dir;
// false when no resolve ran the converter (it is not in the distro).
func localConfig(dir string) (map[string]any, bool) {
	localsMu.Lock()
	defer localsMu.Unlock()
	m, ok := locals[dir]
	if !ok {
		return nil, false
	}
	return mapStrings(m, identity).(map[string]any), true
}

// Convert merges the remote configuration in force over conf, the local
// configuration as resolved, and the own-telemetry layer over both (the
// layer wins for the service::telemetry entries it adds): the candidate
// of an apply this process started, else the last healthy one. A candidate left by an earlier
// process never became healthy: it is marked FAILED and the last healthy
// config runs instead. Nothing here stops the Collector: a state that
// cannot be read or a remote config that no longer passes the lock-out
// check leaves the local config alone, with a warning.
func Convert(_ context.Context, conf *confmap.Conf, logger *zap.Logger) error {
	if os.Getenv(DisableEnv) != "" {
		return nil
	}
	t, ok, err := findTarget(conf)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	rememberLocal(t.dir, mapStrings(conf.ToStringMap(), identity).(map[string]any))
	forgetInjectedID(t.dir)
	_, statErr := os.Stat(t.dir)
	if statErr == nil && len(t.own) > 0 {
		t.uid = agentUID(t) // only the own-telemetry layer uses it
	}
	rememberTarget(t)
	if errors.Is(statErr, fs.ErrNotExist) {
		return nil // no state yet (the extension creates the directory)
	}
	s, err := openStore(t.dir)
	if err != nil {
		logger.Warn("Cannot open the opamp state directory; running the local configuration only", zap.Error(err))
		return nil
	}
	var use *Config
	_, err = s.update(func(st *State) bool {
		switch {
		case st.Candidate != nil && st.Owner == processToken:
			use = st.Candidate
			changed := !st.Loaded
			st.Loaded = true
			return changed
		case st.Candidate != nil:
			logger.Warn("The remote configuration being applied when the Collector last stopped never became healthy; running the last healthy one")
			if st.Kind == "" {
				countStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, true, time.Time{})
			}
			st.setCandidateStatus(protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED,
				"the Collector stopped before this configuration was confirmed healthy; running the last healthy configuration")
			st.dropCandidate()
			use = st.Active
			return true
		default:
			use = st.Active
			return false
		}
	})
	if err != nil {
		logger.Warn("Cannot read the remote configuration state; running the local configuration only", zap.Error(err))
		return nil
	}
	rememberRaw(t.dir, nil)
	if use == nil {
		return nil
	}
	p, _, err := checkConfig(conf.ToStringMap(), t.remotePart(use), t.rules)
	if err != nil {
		logger.Warn("The stored remote configuration no longer applies; running the local configuration only", zap.Error(err))
		return nil
	}
	rememberRaw(t.dir, p.raw)
	// Only the remote part is merged into conf: the local values keep
	// what the resolver attached to them (the text an ${env:X} came from).
	if err := conf.Merge(p.expanded); err != nil {
		return err
	}
	return mergeOwn(conf, t, use, logger)
}

// mergeChecked parses c, checks it against the rules and merges it over
// local; it returns the remote part and the merged config.
func mergeChecked(local map[string]any, c *Config, r Rules) (remote, merged *confmap.Conf, err error) {
	p, merged, err := checkConfig(local, c, r)
	return p.conf, merged, err
}

// checkConfig is mergeChecked keeping the remote part as written too. The
// provider schemes c may use are those the local config's opamp extension
// (r.Own) allows: the converter and the extension's manager read them
// from the same resolved config.
func checkConfig(local map[string]any, c *Config, r Rules) (p parsed, merged *confmap.Conf, err error) {
	if p, err = parse(c.Files, allowedProviders(local, r.Own)); err != nil {
		return parsed{}, nil, err
	}
	if err = checkRemote(p.conf, r); err != nil {
		return parsed{}, nil, err
	}
	if merged, err = merge(local, p.conf); err != nil {
		return parsed{}, nil, err
	}
	if err = checkMerged(merged, r); err != nil {
		return parsed{}, nil, err
	}
	return p, merged, nil
}

var errNoConverter = errors.New("the distro does not register this module's opampconfmap converter (see README, Remote configuration)")

func identity(s string) string { return s }
