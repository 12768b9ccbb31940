package jobs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRiversInfoLinesAreDemotedToDebug(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(quieter{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})}).With("component", "river")
	logger.Info("JobCleaner: ran successfully")
	logger.Warn("producer: queue paused")
	logger.Error("elector: lost leadership")
	if out := buf.String(); strings.Contains(out, "JobCleaner") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "level=ERROR") ||
		!strings.Contains(out, "component=river") {
		t.Errorf("at level info the log holds:\n%s\nwant the warning and the error only", out)
	}
	buf.Reset()
	debug := slog.New(quieter{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
	debug.Info("JobCleaner: ran successfully")
	if !strings.Contains(buf.String(), "level=DEBUG") {
		t.Errorf("at level debug: %q, want the line at DEBUG", buf.String())
	}
}
