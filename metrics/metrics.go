// Package metrics exposes urltracker's Prometheus metrics: what came in
// (webhooks), what was checked (checks, their verdicts and durations), what
// went out (Trackier calls), and the state an operator alerts on (kill switch,
// job queue depth, Go runtime, process). Each Metrics has its own registry;
// nothing is registered globally.
//
// The Observe methods are safe on a nil *Metrics, so that code paths built
// without metrics (unit tests of other packages) need no special case.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// scrapeTimeout bounds the database queries run while Prometheus scrapes.
const scrapeTimeout = 2 * time.Second

// Metrics holds urltracker's series. It is safe for concurrent use.
type Metrics struct {
	registry       *prometheus.Registry
	webhooks       *prometheus.CounterVec
	checks         *prometheus.CounterVec
	checkDuration  prometheus.Histogram
	checksInFlight prometheus.Gauge
	trackierCalls  *prometheus.CounterVec
	notifications  *prometheus.CounterVec
	retained       *prometheus.CounterVec
}

// New builds the metrics of one instance. db feeds the series read on each
// scrape (kill switch, job queue depth, connection pool); queues are the job
// queues whose depth is exposed even while they are empty, so that alerts on
// them have a series to read from the first scrape.
func New(db *store.DB, logger *slog.Logger, queues ...string) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "urltracker_webhooks_total",
			Help: "Trackier webhooks received, by outcome (check_scheduled, debounced, duplicate, offer_disabled, kill_switch_off, unknown_token, bad_request, error).",
		}, []string{"outcome"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "urltracker_checks_total",
			Help: "Link checks completed, by verdict.",
		}, []string{"verdict"}),
		checkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "urltracker_check_duration_seconds",
			Help:    "Duration of link checks (whole redirect chain).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60},
		}),
		checksInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "urltracker_checks_in_flight",
			Help: "Link checks running now on this instance.",
		}),
		trackierCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "urltracker_trackier_calls_total",
			Help: "Attempts of outbound actions (Trackier API calls and alerts), by kind (pause, resume, set_destination, alert) and result (succeeded, retrying, failed, suppressed).",
		}, []string{"kind", "result"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "urltracker_notifications_total",
			Help: "Attempts to deliver a notification, by channel kind (slack, teams, discord, telegram, email, webhook) and outcome (succeeded, retrying, failed).",
		}, []string{"kind", "outcome"}),
		retained: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "urltracker_retention_deleted_rows_total",
			Help: "Rows deleted by the retention job, by table.",
		}, []string{"table"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "urltracker_build_info",
		Help:        "Always 1; the labels tell the build.",
		ConstLabels: prometheus.Labels{"version": urltracker.BuildVersion(), "goversion": runtime.Version()},
	})
	build.Set(1)
	m.registry.MustRegister(
		m.webhooks, m.checks, m.checkDuration, m.checksInFlight, m.trackierCalls, m.notifications, m.retained, build,
		&dbCollector{db: db, logger: logger, queues: queues},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.SQL(), string(db.Dialect())),
	)
	// Series with labels appear only once observed; start the usual ones at
	// zero so that rate() and absent() alerts work from the first scrape.
	for _, outcome := range []string{"check_scheduled", "debounced", "duplicate", "error"} {
		m.webhooks.WithLabelValues(outcome)
	}
	for _, v := range []urltracker.Verdict{urltracker.VerdictHealthy, urltracker.VerdictBroken, urltracker.VerdictTimeout} {
		m.checks.WithLabelValues(string(v))
	}
	for _, table := range store.RetainedTables() {
		m.retained.WithLabelValues(table)
	}
	for _, kind := range urltracker.ChannelKinds {
		for _, outcome := range []urltracker.DeliveryOutcome{urltracker.DeliverySucceeded, urltracker.DeliveryRetrying, urltracker.DeliveryFailed} {
			m.notifications.WithLabelValues(string(kind), string(outcome))
		}
	}
	for _, kind := range []string{"pause", "resume", "set_destination", "alert"} {
		for _, result := range []string{"succeeded", "retrying", "failed", "suppressed"} {
			m.trackierCalls.WithLabelValues(kind, result)
		}
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Timeout: 2 * scrapeTimeout})
}

// Registry exposes the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// ObserveWebhook counts one webhook by outcome.
func (m *Metrics) ObserveWebhook(outcome string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(outcome).Inc()
}

// CheckStarted marks a check as running; call the returned function when it
// is over.
func (m *Metrics) CheckStarted() (done func()) {
	if m == nil {
		return func() {}
	}
	m.checksInFlight.Inc()
	return m.checksInFlight.Dec
}

// ObserveCheck counts one completed check and its duration.
func (m *Metrics) ObserveCheck(verdict urltracker.Verdict, d time.Duration) {
	if m == nil {
		return
	}
	m.checks.WithLabelValues(string(verdict)).Inc()
	m.checkDuration.Observe(d.Seconds())
}

// ObserveAction counts one attempt of an outbound action: kind is pause,
// resume, set_destination or alert; result is the attempt's outcome
// (succeeded, retrying, failed or suppressed).
func (m *Metrics) ObserveAction(kind, result string) {
	if m == nil {
		return
	}
	m.trackierCalls.WithLabelValues(kind, result).Inc()
}

// ObserveNotification counts one attempt to deliver a notification to a
// channel of kind, by its outcome.
func (m *Metrics) ObserveNotification(kind, outcome string) {
	if m == nil {
		return
	}
	m.notifications.WithLabelValues(kind, outcome).Inc()
}

// ObserveRetention counts rows deleted by the retention job, per table.
func (m *Metrics) ObserveRetention(deleted map[string]int64) {
	if m == nil {
		return
	}
	for table, n := range deleted {
		m.retained.WithLabelValues(table).Add(float64(n))
	}
}

// dbCollector reads fleet-wide state from the database on each scrape, under
// a short deadline so that a slow database never hangs the scrape.
type dbCollector struct {
	db     *store.DB
	logger *slog.Logger
	queues []string
}

// queueStates are the job states whose depth is exposed for every known
// queue, at zero when no job is in them.
var queueStates = []string{"available", "retryable", "running", "scheduled"}

var (
	killSwitchDesc = prometheus.NewDesc("urltracker_kill_switch_enabled",
		"1 when outbound automation is on, 0 when the fleet-wide kill switch stopped it.", nil, nil)
	queueDepthDesc = prometheus.NewDesc("urltracker_queue_jobs",
		"Jobs in the job queue (fleet-wide, from the database), by queue and state.", []string{"queue", "state"}, nil)
	databaseUpDesc = prometheus.NewDesc("urltracker_metrics_database_up",
		"1 when the database answered the metrics queries of this scrape, 0 when not.", nil, nil)
	offerHealthyDesc = prometheus.NewDesc("urltracker_offer_healthy",
		"1 when the enabled offer's last counted verdict is healthy, 0 when it is failing; absent before its first counted check.",
		[]string{"offer_id"}, nil)
	offerUptimeDesc = prometheus.NewDesc("urltracker_offer_uptime_ratio",
		"Healthy checks among the enabled offer's counted checks of the last 24 hours (whole hours); absent without any.",
		[]string{"offer_id"}, nil)
	certificatesExpiringDesc = prometheus.NewDesc("urltracker_offers_certificate_expiring",
		"Enabled offers whose latest check found a certificate on the chain expiring within URLTRACKER_CERT_WARN_DAYS (fleet-wide, from the database).",
		nil, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- killSwitchDesc
	ch <- queueDepthDesc
	ch <- databaseUpDesc
	ch <- offerHealthyDesc
	ch <- offerUptimeDesc
	ch <- certificatesExpiringDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	up := 1.0
	enabled, err := c.db.KillSwitch(ctx)
	if err == nil {
		ch <- prometheus.MustNewConstMetric(killSwitchDesc, prometheus.GaugeValue, boolValue(enabled))
	} else {
		up = 0
		c.logger.Warn("metrics: read kill switch", "err", err)
	}
	counts, err := c.db.JobCounts(ctx)
	if err == nil {
		depth := map[[2]string]int64{}
		for _, q := range c.queues {
			for _, state := range queueStates {
				depth[[2]string{q, state}] = 0
			}
		}
		for _, jc := range counts {
			depth[[2]string{jc.Queue, jc.State}] = jc.Count
		}
		for key, n := range depth {
			ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n), key[0], key[1])
		}
	} else {
		up = 0
		c.logger.Warn("metrics: count jobs", "err", err)
	}
	uptimes, err := c.db.OfferUptimes(ctx, time.Now().Add(-24*time.Hour))
	if err == nil {
		for _, u := range uptimes {
			id := strconv.FormatInt(u.OfferID, 10)
			if h := u.LastVerdict.Health(); u.LastVerdict != "" && h != urltracker.HealthNeutral {
				ch <- prometheus.MustNewConstMetric(offerHealthyDesc, prometheus.GaugeValue, boolValue(h == urltracker.HealthHealthy), id)
			}
			if u.Counted > 0 {
				ch <- prometheus.MustNewConstMetric(offerUptimeDesc, prometheus.GaugeValue, float64(u.Healthy)/float64(u.Counted), id)
			}
		}
	} else {
		up = 0
		c.logger.Warn("metrics: offer uptimes", "err", err)
	}
	if n, err := c.db.OffersWithExpiringCertificates(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(certificatesExpiringDesc, prometheus.GaugeValue, float64(n))
	} else {
		up = 0
		c.logger.Warn("metrics: expiring certificates", "err", err)
	}
	ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, up)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
