package instanceuid

import (
	"fmt"

	"github.com/google/uuid"
)

// Sources reported by Resolve, for a debug log line.
const (
	SourceConfig    = "config instance_uid"
	SourceResource  = "resource service.instance.id"
	SourceGenerated = "generated UUIDv7"
)

// New returns a fresh UUIDv7: time-ordered, so servers that index agents by
// UID get good locality, and random enough to be unique.
func New() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("generate UUIDv7: %w", err)
	}
	return id, nil
}

// Resolve picks the instance UID: the configured value when set (its parse
// error is returned), else the resource's service.instance.id when it is a
// non-zero UUID (so OpAMP and the Collector's own telemetry agree), else a
// new UUIDv7. source names which one was used.
func Resolve(configured, resourceInstanceID string) (uid uuid.UUID, source string, err error) {
	if configured != "" {
		id, err := Parse(configured)
		if err != nil {
			return uuid.Nil, "", err
		}
		return id, SourceConfig, nil
	}
	if resourceInstanceID != "" {
		// Only UUIDs: a ULID-looking service.instance.id would be reported
		// with a different string than the resource carries.
		if id, err := parseUUID(resourceInstanceID); err == nil && id != uuid.Nil {
			return id, SourceResource, nil
		}
	}
	id, err := New()
	if err != nil {
		return uuid.Nil, "", err
	}
	return id, SourceGenerated, nil
}
