package urltracker

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	vcs := func(rev, at, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: at}, {Key: "vcs.modified", Value: modified}}}
	}
	tests := []struct {
		name  string
		stamp string
		info  *debug.BuildInfo
		want  string
	}{
		{"ldflags stamp wins", "v1.4.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.4.0"},
		{"go install @version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0"},
		{"pseudo-version of a checkout", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201120000-0123456789ab+dirty"}}, "v0.0.0-20261201120000-0123456789ab+dirty"},
		{"VCS revision", "dev", vcs("0123456789abcdef0123", "2026-12-01T12:00:00Z", "false"), "dev-0123456789ab (2026-12-01T12:00:00Z)"},
		{"modified checkout", "dev", vcs("0123456789abcdef0123", "2026-12-01T12:00:00Z", "true"), "dev-0123456789ab-modified (2026-12-01T12:00:00Z)"},
		{"nothing known", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"no build information", "dev", nil, "dev"},
	}
	for _, tt := range tests {
		if got := versionOf(tt.stamp, tt.info); got != tt.want {
			t.Errorf("%s: versionOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}
