package agents

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func node(healthy bool, status string, kids map[string]*Health) *Health {
	return &Health{Healthy: healthy, Status: status, Components: kids}
}

func pipelines(recv *Health) *Health {
	return node(true, "StatusOK", map[string]*Health{
		"pipeline:traces": node(true, "StatusOK", map[string]*Health{
			"receiver:otlp": recv,
			"exporter:x":    node(true, "StatusOK", nil),
		}),
	})
}

func TestHealthLines(t *testing.T) {
	okRecv := node(true, "StatusOK", nil)
	badRecv := &Health{Healthy: false, Status: "StatusRecoverableError", LastError: "port in use"}
	tests := []struct {
		name      string
		prev, cur *Health
		want      []string
	}{
		{"first healthy report is one line", nil, pipelines(okRecv),
			[]string{"health: healthy StatusOK (+3 healthy components)"}},
		{"first report lists what is not healthy", nil, pipelines(badRecv), []string{
			"health: healthy StatusOK (+2 healthy components)",
			"  pipeline:traces / receiver:otlp: UNHEALTHY StatusRecoverableError: port in use",
		}},
		{"nothing changed", pipelines(okRecv), pipelines(okRecv), nil},
		{"a component changed under a steady root", pipelines(okRecv), pipelines(badRecv), []string{
			"health of components changed, overall still healthy StatusOK",
			"  pipeline:traces / receiver:otlp: UNHEALTHY StatusRecoverableError: port in use",
		}},
		{"root and component changed, one gone", pipelines(okRecv),
			node(false, "StatusStopping", map[string]*Health{"pipeline:traces": node(false, "StatusStopping", map[string]*Health{
				"receiver:otlp": okRecv,
			})}), []string{
				"health: UNHEALTHY StatusStopping",
				"  pipeline:traces: UNHEALTHY StatusStopping",
				"  pipeline:traces / exporter:x: gone",
			}},
		{"new healthy components are counted", node(true, "StatusOK", nil), pipelines(okRecv),
			[]string{"health: 3 more healthy components"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, healthLines(tt.prev, tt.cur))
		})
	}
}
