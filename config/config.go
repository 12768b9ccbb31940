// Package config loads urltracker's configuration from URLTRACKER_*
// environment variables. It is the only place that reads them.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/tracer"
)

// Config is the whole configuration of one urltracker process.
type Config struct {
	Addr                string
	DatabaseURL         string
	AdminToken          string
	TraceAllowCIDRs     []netip.Prefix
	TraceTimeout        time.Duration
	HopTimeout          time.Duration
	MaxHops             int
	MaxMetaRefreshDelay time.Duration
	UserAgent           string
	APITimeout          time.Duration
	CheckConcurrency    int
	PublicURL           string
	Instance            string
	LogLevel            slog.Level
	DrainDelay          time.Duration
	ShutdownTimeout     time.Duration
	MemoryLimit         int64
	// GoMemLimitSet is true when GOMEMLIMIT is set; it then wins over
	// MemoryLimit (the Go runtime has already applied it).
	GoMemLimitSet bool
	Retention     time.Duration
	RetentionKeep int
	// SessionIdle and SessionLifetime end dashboard sessions unused this
	// long, and this long after sign-in.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// TrustedProxies may set X-Forwarded-For (client addresses in sign-in
	// throttling, logs and the audit log).
	TrustedProxies []netip.Prefix
	// SQLiteSynchronous is SQLite's synchronous setting, NORMAL or FULL.
	SQLiteSynchronous string
	// CertWarnDays: a landing chain whose certificate expires within this
	// many days carries the signal certificate_expires_soon.
	CertWarnDays int
}

// Error is an invalid configuration value. Its message names the variable and
// what is allowed, so the operator can fix it without reading code.
type Error struct {
	Var     string
	Value   string
	Allowed string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid configuration: %s=%q: %s", e.Var, e.Value, e.Allowed)
}

// Variable describes one environment variable, for the README and `check`.
type Variable struct {
	Name    string
	Default string
	Help    string
}

// Variables lists every variable Load reads, in documentation order; a test
// keeps the README's configuration table in step with it.
var Variables = []Variable{
	{"URLTRACKER_ADDR", ":3000", "listen address"},
	{"URLTRACKER_DATABASE_URL", "sqlite:urltracker.db", "sqlite:PATH (embedded) or postgres://… (fleet)"},
	{"URLTRACKER_ADMIN_TOKEN", "generated", "bearer token for admin endpoints; generated and stored beside the SQLite file when unset"},
	{"URLTRACKER_TRACE_ALLOW_CIDRS", "", "comma-separated CIDRs the tracer may reach although internal"},
	{"URLTRACKER_TRACE_TIMEOUT", "30s", "deadline of one whole trace"},
	{"URLTRACKER_HOP_TIMEOUT", "10s", "deadline of one hop of a trace"},
	{"URLTRACKER_MAX_HOPS", "20", "redirects followed before the verdict too_many_hops"},
	{"URLTRACKER_MAX_META_REFRESH", "10s", "longest meta refresh delay still followed as a redirect"},
	{"URLTRACKER_USER_AGENT", "urltracker/<version> (+link-check)", "the one User-Agent the tracer sends"},
	{"URLTRACKER_API_TIMEOUT", "30s", "deadline of one Trackier API or alert call"},
	{"URLTRACKER_CHECK_CONCURRENCY", "8", "checks running at once on this instance"},
	{"URLTRACKER_PUBLIC_URL", "http://localhost:<port>", "base URL used in the webhook URLs shown to users"},
	{"URLTRACKER_INSTANCE", "host:pid", "name of this instance in status and logs"},
	{"URLTRACKER_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"URLTRACKER_DRAIN_DELAY", "5s", "how long /readyz answers 503 before the server stops accepting"},
	{"URLTRACKER_SHUTDOWN_TIMEOUT", "30s", "how long in-flight requests and jobs get to finish on shutdown"},
	{"URLTRACKER_MEMORY_LIMIT", "400MiB", "soft memory limit for the Go runtime (ignored when GOMEMLIMIT is set)"},
	{"URLTRACKER_RETENTION", "720h", "events older than this are deleted"},
	{"URLTRACKER_RETENTION_KEEP", "1000", "checks and actions kept per offer"},
	{"URLTRACKER_SESSION_IDLE_TIMEOUT", "2h", "a dashboard session unused this long ends"},
	{"URLTRACKER_SESSION_LIFETIME", "12h", "a dashboard session ends this long after sign-in, used or not"},
	{"URLTRACKER_TRUSTED_PROXIES", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client; default none"},
	{"URLTRACKER_SQLITE_SYNCHRONOUS", "NORMAL", "NORMAL: a process crash loses nothing, an OS crash or power loss may lose the last commits; FULL: neither does, each commit waits for the disk"},
	{"URLTRACKER_CERT_WARN_DAYS", "14", "a chain whose TLS certificate expires within this many days gets the signal certificate_expires_soon"},
}

// Load reads the configuration through getenv and validates every value.
func Load(getenv func(string) string) (Config, error) {
	l := loader{getenv: getenv}
	cfg := Config{
		Addr:                l.str("URLTRACKER_ADDR", ":3000"),
		DatabaseURL:         l.str("URLTRACKER_DATABASE_URL", "sqlite:urltracker.db"),
		AdminToken:          getenv("URLTRACKER_ADMIN_TOKEN"),
		TraceAllowCIDRs:     l.cidrs("URLTRACKER_TRACE_ALLOW_CIDRS"),
		TraceTimeout:        l.duration("URLTRACKER_TRACE_TIMEOUT", 30*time.Second),
		HopTimeout:          l.duration("URLTRACKER_HOP_TIMEOUT", 10*time.Second),
		MaxHops:             l.integer("URLTRACKER_MAX_HOPS", 20, 1, 100),
		MaxMetaRefreshDelay: l.duration("URLTRACKER_MAX_META_REFRESH", 10*time.Second),
		UserAgent:           l.str("URLTRACKER_USER_AGENT", urltracker.UserAgent()),
		APITimeout:          l.duration("URLTRACKER_API_TIMEOUT", 30*time.Second),
		CheckConcurrency:    l.integer("URLTRACKER_CHECK_CONCURRENCY", 8, 1, 1000),
		PublicURL:           strings.TrimRight(getenv("URLTRACKER_PUBLIC_URL"), "/"),
		Instance:            getenv("URLTRACKER_INSTANCE"),
		LogLevel:            l.level("URLTRACKER_LOG_LEVEL"),
		DrainDelay:          l.durationMin("URLTRACKER_DRAIN_DELAY", 5*time.Second, 0),
		ShutdownTimeout:     l.duration("URLTRACKER_SHUTDOWN_TIMEOUT", 30*time.Second),
		MemoryLimit:         l.bytes("URLTRACKER_MEMORY_LIMIT", 400<<20),
		GoMemLimitSet:       getenv("GOMEMLIMIT") != "",
		Retention:           l.duration("URLTRACKER_RETENTION", 720*time.Hour),
		RetentionKeep:       l.integer("URLTRACKER_RETENTION_KEEP", 1000, 1, 1_000_000),
		SessionIdle:         l.durationMin("URLTRACKER_SESSION_IDLE_TIMEOUT", 2*time.Hour, time.Minute),
		SessionLifetime:     l.durationMin("URLTRACKER_SESSION_LIFETIME", 12*time.Hour, time.Minute),
		TrustedProxies:      l.prefixes("URLTRACKER_TRUSTED_PROXIES"),
		SQLiteSynchronous:   strings.ToUpper(l.str("URLTRACKER_SQLITE_SYNCHRONOUS", "NORMAL")),
		CertWarnDays:        l.integer("URLTRACKER_CERT_WARN_DAYS", 14, 1, 365),
	}
	if cfg.SQLiteSynchronous != "NORMAL" && cfg.SQLiteSynchronous != "FULL" {
		l.fail("URLTRACKER_SQLITE_SYNCHRONOUS", cfg.SQLiteSynchronous, "NORMAL or FULL")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		l.fail("URLTRACKER_ADDR", cfg.Addr, "a listen address such as :3000 or 127.0.0.1:3000")
	}
	if !strings.HasPrefix(cfg.DatabaseURL, "sqlite:") && !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
		l.fail("URLTRACKER_DATABASE_URL", urltracker.RedactURL(cfg.DatabaseURL), "sqlite:PATH or postgres://user@host:port/db")
	}
	if cfg.AdminToken != "" && len(cfg.AdminToken) < 16 {
		l.fail("URLTRACKER_ADMIN_TOKEN", "(hidden)", "at least 16 characters; unset it to have one generated")
	}
	if cfg.PublicURL == "" {
		_, port, _ := net.SplitHostPort(cfg.Addr)
		cfg.PublicURL = "http://localhost:" + port
	} else if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.fail("URLTRACKER_PUBLIC_URL", cfg.PublicURL, "an absolute http(s) URL such as https://tracker.example.com")
	}
	if cfg.Instance == "" {
		host, _ := os.Hostname()
		cfg.Instance = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if l.err != nil {
		return Config{}, l.err
	}
	return cfg, nil
}

// IsSQLite reports whether the database is the embedded SQLite file.
func (c Config) IsSQLite() bool { return strings.HasPrefix(c.DatabaseURL, "sqlite:") }

// DatabaseKind is "sqlite" or "postgres", safe to log.
func (c Config) DatabaseKind() string {
	if c.IsSQLite() {
		return "sqlite"
	}
	return "postgres"
}

// SQLitePath is the file of an sqlite: database URL.
func (c Config) SQLitePath() string { return strings.TrimPrefix(c.DatabaseURL, "sqlite:") }

type loader struct {
	getenv func(string) string
	err    error
}

func (l *loader) fail(name, value, allowed string) {
	if l.err == nil {
		l.err = &Error{Var: name, Value: value, Allowed: allowed}
	}
}

func (l *loader) str(name, def string) string {
	if v := l.getenv(name); v != "" {
		return v
	}
	return def
}

func (l *loader) duration(name string, def time.Duration) time.Duration {
	return l.durationMin(name, def, time.Millisecond)
}

func (l *loader) durationMin(name string, def, minimum time.Duration) time.Duration {
	v := l.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < minimum {
		l.fail(name, v, fmt.Sprintf("a Go duration of at least %s such as 30s or 2m", minimum))
		return def
	}
	return d
}

func (l *loader) integer(name string, def, minimum, maximum int) int {
	v := l.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minimum || n > maximum {
		l.fail(name, v, fmt.Sprintf("an integer from %d to %d", minimum, maximum))
		return def
	}
	return n
}

func (l *loader) level(name string) slog.Level {
	v := l.getenv(name)
	var level slog.Level
	if v == "" {
		return slog.LevelInfo
	}
	if err := level.UnmarshalText([]byte(v)); err != nil {
		l.fail(name, v, "one of debug, info, warn, error")
	}
	return level
}

func (l *loader) bytes(name string, def int64) int64 {
	v := l.getenv(name)
	if v == "" {
		return def
	}
	n, err := ParseBytes(v)
	if err != nil || n < 16<<20 {
		l.fail(name, v, "a size of at least 16MiB such as 400MiB, 1GiB or 500MB")
		return def
	}
	return n
}

func (l *loader) cidrs(name string) []netip.Prefix {
	v := l.getenv(name)
	prefixes, err := tracer.ParseAllowCIDRs(v)
	if err != nil {
		l.fail(name, v, "comma-separated CIDRs or addresses such as 127.0.0.0/8,::1 ("+err.Error()+")")
	}
	return prefixes
}

func (l *loader) prefixes(name string) []netip.Prefix {
	v := l.getenv(name)
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				l.fail(name, v, "comma-separated CIDRs or addresses such as 10.0.0.0/8,192.0.2.7")
				return nil
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// ParseBytes parses sizes such as 400MiB, 1GiB, 500MB or a plain byte count.
func ParseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	s = strings.TrimSpace(s)
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil {
				return 0, err
			}
			return n * u.mult, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errors.New("not a size")
	}
	return n, nil
}
