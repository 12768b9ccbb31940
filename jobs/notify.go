package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/notify"
	"github.com/urltracker/urltracker/policy"
	"github.com/urltracker/urltracker/store"
)

// QueueNotify is the River queue of notifications, apart from checks and
// Trackier actions so that a slow chat service delays neither.
const QueueNotify = "notify"

// Retry schedule of a notification: like an action's (5 s·2ⁿ, 8 attempts,
// about 10.5 minutes), unless the receiver names its own wait (Retry-After,
// Telegram's retry_after), which is honoured up to notifyMaxRetryAfter.
const (
	notifyMaxAttempts   = 8
	notifyMaxRetryAfter = 15 * time.Minute
)

// NotifyArgs asks for one notice to be delivered to one channel. One job
// per message and channel, inserted in the transaction that decided it: a
// fleet sends each message once.
type NotifyArgs struct {
	ChannelID int64             `json:"channel_id"`
	Notice    urltracker.Notice `json:"notice"`
}

// Kind names the job in River's tables.
func (NotifyArgs) Kind() string { return "notify" }

// notifyTx delivers n to channels, inside tx: a job per channel, or, when
// silence says why the notice is held back, a silenced line in each
// channel's deliveries log instead.
func (q *Queue) notifyTx(ctx context.Context, tx *sql.Tx, channels []urltracker.Channel, n urltracker.Notice, silence string) error {
	if n.OfferID != 0 && q.publicURL != "" {
		n.Link = q.publicURL + "/offers/" + strconv.FormatInt(n.OfferID, 10)
	}
	for _, ch := range channels {
		if silence != "" {
			d := urltracker.Delivery{ChannelID: ch.ID, OfferID: offerRef(n.OfferID), At: time.Now().UTC(), Event: n.Event,
				Title: n.Title, Outcome: urltracker.DeliverySilenced, Error: "not sent: " + silence}
			if err := q.db.RecordDeliveryTx(ctx, tx, &d); err != nil {
				return err
			}
			continue
		}
		opts := &river.InsertOpts{Queue: QueueNotify, MaxAttempts: notifyMaxAttempts}
		if _, err := q.client.InsertTx(ctx, tx, NotifyArgs{ChannelID: ch.ID, Notice: n}, opts); err != nil {
			return fmt.Errorf("enqueue %s notice to channel %d: %w", n.Event, ch.ID, err)
		}
	}
	return nil
}

// notifyOfferTx sends n to the channels of offer o.
func (q *Queue) notifyOfferTx(ctx context.Context, tx *sql.Tx, o urltracker.Offer, n urltracker.Notice, silence string) error {
	channels, err := q.db.RoutedChannelsTx(ctx, tx, o.ID, o.Channels)
	if err != nil {
		return err
	}
	return q.notifyTx(ctx, tx, channels, n, silence)
}

// SetKillSwitch turns automation on or off fleet-wide and, when that
// changes it, tells the default channels in the same transaction. The
// kill switch stops actions, not notices.
func (q *Queue) SetKillSwitch(ctx context.Context, enabled bool, by store.Actor, reason string) (previous bool, err error) {
	return q.db.SetKillSwitchAnd(ctx, enabled, by, reason, func(tx *sql.Tx, previous bool) error {
		if previous == enabled {
			return nil
		}
		channels, err := q.db.RoutedChannelsTx(ctx, tx, 0, nil)
		if err != nil {
			return err
		}
		who := by.Name
		if who == "" {
			who = "someone"
		}
		return q.notifyTx(ctx, tx, channels, policy.KillSwitchNotice(enabled, time.Now().UTC(), who+" on "+by.Instance, reason), "")
	})
}

// TestChannel delivers a test message to a channel now, outside the queue,
// and logs the attempt: the admin sees at once whether the channel works.
func (q *Queue) TestChannel(ctx context.Context, ch urltracker.Channel, instance string) (urltracker.Delivery, error) {
	n := urltracker.Notice{Event: urltracker.NoticeTest, Title: "Test message from urltracker",
		Text: fmt.Sprintf("Channel %q (%s) works: this is where urltracker's notifications will arrive. Sent via %s.", ch.Name, ch.Kind, instance),
		At:   time.Now().UTC(), Link: q.publicURL}
	res, err := q.notifier.Send(ctx, ch, n)
	d := urltracker.Delivery{ChannelID: ch.ID, Attempt: 1, At: n.At, Event: n.Event, Title: n.Title,
		Outcome: urltracker.DeliverySucceeded, StatusCode: res.StatusCode, DurationMS: res.Duration.Milliseconds()}
	if err != nil {
		d.Outcome, d.Error = urltracker.DeliveryFailed, redactChannel(err.Error(), ch)
	}
	q.metrics.ObserveNotification(string(ch.Kind), string(d.Outcome))
	logCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := q.db.InTx(logCtx, func(tx *sql.Tx) error { return q.db.RecordDeliveryTx(logCtx, tx, &d) }); err != nil {
		return d, err
	}
	return d, nil
}

func offerRef(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// notifyWorker delivers notification jobs, one attempt each, every attempt
// written to the deliveries log.
type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	q       *Queue
	timeout time.Duration
	logger  *slog.Logger
	metrics *metrics.Metrics
	// waits holds the wait a receiver asked for after a job's failed
	// attempt, from Work until River asks NextRetry (on this instance).
	waits sync.Map // job id → time.Duration
}

// NextRetry honours the receiver's Retry-After, else backs off like an
// action.
func (w *notifyWorker) NextRetry(job *river.Job[NotifyArgs]) time.Time {
	if d, ok := w.waits.LoadAndDelete(job.ID); ok {
		return time.Now().Add(d.(time.Duration))
	}
	return time.Now().Add(retryDelay(job.Attempt))
}

// Timeout leaves the call its deadline and time to log the attempt.
func (w *notifyWorker) Timeout(*river.Job[NotifyArgs]) time.Duration {
	return w.timeout + 15*time.Second
}

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	args := job.Args
	ch, err := w.q.db.Channel(ctx, args.ChannelID)
	if errors.Is(err, urltracker.ErrNotFound) {
		w.logger.Info("notification dropped: the channel was deleted", "channel_id", args.ChannelID, "event", args.Notice.Event)
		return nil
	}
	if err != nil {
		return err
	}
	if id := args.Notice.OfferID; id != 0 {
		if _, err := w.q.db.Offer(ctx, id); errors.Is(err, urltracker.ErrNotFound) {
			w.logger.Info("notification dropped: the offer was deleted", "offer_id", id, "event", args.Notice.Event)
			return nil
		} else if err != nil {
			return err
		}
	}
	res, sendErr := w.q.notifier.Send(ctx, ch, args.Notice)
	d := urltracker.Delivery{ChannelID: ch.ID, OfferID: offerRef(args.Notice.OfferID), JobID: job.ID, Attempt: job.Attempt,
		At: time.Now().UTC(), Event: args.Notice.Event, Title: args.Notice.Title, Outcome: urltracker.DeliverySucceeded,
		StatusCode: res.StatusCode, DurationMS: res.Duration.Milliseconds()}
	var wait time.Duration
	if sendErr != nil {
		var e *notify.Error
		retryable := errors.As(sendErr, &e) && e.Retryable()
		d.Error = redactChannel(sendErr.Error(), ch)
		switch {
		case retryable && job.Attempt < job.MaxAttempts:
			wait = retryDelay(job.Attempt)
			if e.RetryAfter > 0 {
				wait = min(e.RetryAfter, notifyMaxRetryAfter)
			}
			next := time.Now().Add(wait).UTC()
			d.Outcome, d.NextAttemptAt = urltracker.DeliveryRetrying, &next
		case retryable:
			d.Outcome = urltracker.DeliveryFailed
			d.Error += fmt.Sprintf("; gave up after %d attempts", job.Attempt)
		default:
			d.Outcome = urltracker.DeliveryFailed
		}
	}
	logCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.q.db.InTx(logCtx, func(tx *sql.Tx) error { return w.q.db.RecordDeliveryTx(logCtx, tx, &d) }); err != nil {
		return fmt.Errorf("record delivery to channel %d: %w", ch.ID, err)
	}
	w.logger.Info("notification attempt", "channel_id", ch.ID, "kind", ch.Kind, "event", args.Notice.Event, "offer_id", args.Notice.OfferID,
		"attempt", job.Attempt, "outcome", d.Outcome, "status_code", d.StatusCode, "error", d.Error)
	w.metrics.ObserveNotification(string(ch.Kind), string(d.Outcome))
	if d.Outcome == urltracker.DeliveryRetrying {
		w.waits.Store(job.ID, wait)
		return errors.New(d.Error) // River schedules the retry with NextRetry
	}
	return nil
}

// redactChannel removes a channel's secrets from a message that may echo
// them (an answer quoting the URL, say).
func redactChannel(s string, ch urltracker.Channel) string {
	for _, secret := range []string{ch.Secrets.URL, ch.Secrets.BotToken, ch.Secrets.Password, ch.Secrets.Secret} {
		s = redact(s, secret)
	}
	return s
}
