package metrics_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/store"
)

func TestNilMetricsObserveNothing(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveWebhook("debounced")
	m.CheckStarted()()
	m.ObserveCheck(urltracker.VerdictHealthy, time.Second)
	m.ObserveAction("pause", "succeeded")
	m.ObserveRetention(map[string]int64{"events": 1})
}

func TestGatherReadsTheDatabase(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(db, slog.New(slog.DiscardHandler))
	done := m.CheckStarted()
	m.ObserveCheck(urltracker.VerdictLoop, 1500*time.Millisecond)
	done()
	m.ObserveAction("alert", "failed")

	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			name := f.GetName()
			for _, l := range metric.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case metric.Counter != nil:
				values[name] = metric.GetCounter().GetValue()
			case metric.Gauge != nil:
				values[name] = metric.GetGauge().GetValue()
			case metric.Histogram != nil:
				values[name] = float64(metric.GetHistogram().GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{
		"urltracker_checks_total,verdict=loop":                                                           1,
		"urltracker_check_duration_seconds":                                                              1,
		"urltracker_checks_in_flight":                                                                    0,
		"urltracker_trackier_calls_total,kind=alert,result=failed":                                       1,
		"urltracker_trackier_calls_total,kind=pause,result=succeeded":                                    0,
		"urltracker_kill_switch_enabled":                                                                 1,
		"urltracker_metrics_database_up":                                                                 1,
		"urltracker_webhooks_total,outcome=check_scheduled":                                              0,
		"urltracker_build_info,goversion=" + runtime.Version() + ",version=" + urltracker.BuildVersion(): 1,
	} {
		got, ok := values[name]
		if !ok || got != want {
			t.Errorf("%s = %v (present %t), want %v", name, got, ok, want)
		}
	}
}
