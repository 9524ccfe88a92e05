package opampclient

import (
	"context"
	"fmt"

	"github.com/open-telemetry/opamp-go/client/types"
	"go.uber.org/zap"
)

// zapLogger adapts opamp-go's printf-style logger to zap. opamp-go logs every
// failed connection attempt at error level; connection state changes are
// logged once by connState instead, so everything opamp-go says is a detail
// and goes to debug.
type zapLogger struct {
	logger *zap.Logger
	// onError receives opamp-go's error lines: the only place where it
	// says which HTTP status a server refused a connection with.
	onError func(detail string)
}

var _ types.Logger = zapLogger{}

func (l zapLogger) Debugf(_ context.Context, format string, v ...any) {
	if ce := l.logger.Check(zap.DebugLevel, "opamp-go"); ce != nil {
		ce.Write(zap.String("detail", fmt.Sprintf(format, v...)))
	}
}

func (l zapLogger) Errorf(_ context.Context, format string, v ...any) {
	detail := fmt.Sprintf(format, v...)
	if l.onError != nil {
		l.onError(detail)
	}
	if ce := l.logger.Check(zap.DebugLevel, "opamp-go error"); ce != nil {
		ce.Write(zap.String("detail", detail))
	}
}
