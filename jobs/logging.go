package jobs

import (
	"context"
	"log/slog"
)

// quieter passes River's INFO records on at DEBUG and the rest as they are:
// River reports routine work (client start and stop, maintenance services
// such as the job cleaner and the leader elector) at INFO every minute or
// so, which buries the service's own lines. Its warnings and errors keep
// their level.
type quieter struct{ slog.Handler }

func (h quieter) Enabled(ctx context.Context, level slog.Level) bool {
	return h.Handler.Enabled(ctx, demote(level))
}

func (h quieter) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h quieter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quieter{h.Handler.WithAttrs(attrs)}
}

func (h quieter) WithGroup(name string) slog.Handler { return quieter{h.Handler.WithGroup(name)} }

func demote(level slog.Level) slog.Level {
	if level == slog.LevelInfo {
		return slog.LevelDebug
	}
	return level
}
