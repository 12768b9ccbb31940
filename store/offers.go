package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// NewToken returns an unguessable URL-safe token of 192 random bits.
func NewToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

const offerColumns = `o.id, o.name, o.url, o.expected_host, o.update_interval_seconds, o.check_every_seconds, o.engine, o.enabled,
	o.trackier_api_base_url, o.trackier_api_key, o.trackier_campaign_id, o.policy, o.rules, o.created_at, o.updated_at,
	COALESCE(c.webhook_count, 0), COALESCE(c.check_count, 0), c.last_webhook_at, c.last_check_at, COALESCE(c.last_verdict, ''),
	COALESCE((SELECT t.token FROM webhook_tokens t WHERE t.offer_id = o.id ORDER BY t.created_at, t.token LIMIT 1), ''),
	o.alert, o.channels, o.snoozed_until, o.snooze_reason`

const offerFrom = ` FROM offers o LEFT JOIN offer_counters c ON c.offer_id = o.id`

// OfferRecord is an offer as stored, with its first webhook token.
type OfferRecord struct {
	urltracker.Offer
	WebhookToken string
}

type scanner interface{ Scan(dest ...any) error }

func scanOffer(s scanner) (OfferRecord, error) {
	var r OfferRecord
	var policy, rules string
	var created, updated int64
	var lastWebhook, lastCheck sql.NullInt64
	var verdict string
	var alert, channels, snoozeReason string
	var snoozedUntil sql.NullInt64
	err := s.Scan(&r.ID, &r.Name, &r.URL, &r.ExpectedHost, &r.UpdateIntervalSeconds, &r.CheckEverySeconds, &r.Engine, &r.Enabled,
		&r.Trackier.APIBaseURL, &r.Trackier.APIKey, &r.Trackier.CampaignID, &policy, &rules, &created, &updated,
		&r.Stats.WebhookCount, &r.Stats.CheckCount, &lastWebhook, &lastCheck, &verdict, &r.WebhookToken,
		&alert, &channels, &snoozedUntil, &snoozeReason)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(alert), &r.Alert); err != nil {
		return r, fmt.Errorf("offer %d: decode alert settings: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(channels), &r.Channels); err != nil {
		return r, fmt.Errorf("offer %d: decode channels: %w", r.ID, err)
	}
	if snoozedUntil.Valid {
		r.Snooze = &urltracker.Snooze{Until: fromMicros(snoozedUntil.Int64), Reason: snoozeReason}
	}
	r.Trackier.APIKeySet = r.Trackier.APIKey != ""
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	r.Stats.LastWebhookAt, r.Stats.LastCheckAt = fromNullMicros(lastWebhook), fromNullMicros(lastCheck)
	r.Stats.LastVerdict = urltracker.Verdict(verdict)
	if err := json.Unmarshal([]byte(policy), &r.Policy); err != nil {
		return r, fmt.Errorf("offer %d: decode policy: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(rules), &r.Rules); err != nil {
		return r, fmt.Errorf("offer %d: decode rules: %w", r.ID, err)
	}
	r.Offer = r.Offer.Normalize()
	return r, nil
}

// offerDocs encodes the offer's policy and rules as stored.
func offerDocs(o urltracker.Offer) (policy, rules, alert, channels string, err error) {
	p, err := jsonenc.Marshal(o.Policy)
	if err != nil {
		return "", "", "", "", fmt.Errorf("encode policy: %w", err)
	}
	r, err := jsonenc.Marshal(o.Rules)
	if err != nil {
		return "", "", "", "", fmt.Errorf("encode rules: %w", err)
	}
	a, err := jsonenc.Marshal(o.Alert)
	if err != nil {
		return "", "", "", "", fmt.Errorf("encode alert: %w", err)
	}
	if o.Channels == nil {
		o.Channels = []int64{}
	}
	c, err := jsonenc.Marshal(o.Channels)
	if err != nil {
		return "", "", "", "", fmt.Errorf("encode channels: %w", err)
	}
	return string(p), string(r), string(a), string(c), nil
}

// engineOf is the offer's engine, the HTTP tracer when unset.
func engineOf(o urltracker.Offer) string {
	if o.Engine == "" {
		return urltracker.EngineHTTP
	}
	return o.Engine
}

// CreateOffer stores a new offer with a fresh webhook token. An enabled
// offer with a schedule is due for its first scheduled check at once.
func (db *DB) CreateOffer(ctx context.Context, o urltracker.Offer) (OfferRecord, error) {
	policy, rules, alert, channels, err := offerDocs(o)
	if err != nil {
		return OfferRecord{}, err
	}
	now := micros(db.now())
	var id int64
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var next sql.NullInt64
		if o.Enabled && o.CheckEverySeconds > 0 {
			next = sql.NullInt64{Int64: now, Valid: true}
		}
		err := tx.QueryRowContext(ctx, db.q(`INSERT INTO offers (name, url, expected_host, update_interval_seconds, check_every_seconds,
			engine, enabled, trackier_api_base_url, trackier_api_key, trackier_campaign_id, policy, rules, created_at, updated_at, next_check_at,
			alert, channels)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			o.Name, o.URL, o.ExpectedHost, o.UpdateIntervalSeconds, o.CheckEverySeconds, engineOf(o), o.Enabled,
			o.Trackier.APIBaseURL, o.Trackier.APIKey, o.Trackier.CampaignID, policy, rules, now, now, next, alert, channels).Scan(&id)
		if err != nil {
			return db.mapConstraint(err)
		}
		if err := db.syncAlertURLChannelTx(ctx, tx, id, o.Policy.AlertURL); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO offer_counters (offer_id) VALUES (?)`), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`INSERT INTO webhook_tokens (token, offer_id, created_at) VALUES (?, ?, ?)`), NewToken(), id, now)
		return err
	})
	if err != nil {
		return OfferRecord{}, fmt.Errorf("create offer %q: %w", o.Name, err)
	}
	return db.Offer(ctx, id)
}

// Offer loads one offer.
func (db *DB) Offer(ctx context.Context, id int64) (OfferRecord, error) {
	r, err := scanOffer(db.sql.QueryRowContext(ctx, db.q(`SELECT `+offerColumns+offerFrom+` WHERE o.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("offer %d: %w", id, urltracker.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("load offer %d: %w", id, err)
	}
	return r, nil
}

// OfferByToken finds the offer a webhook token belongs to. Answers are cached
// for at most tokenCacheTTL: the webhook path then costs no read, and an
// edit of the offer (or its deletion) is seen within that time.
func (db *DB) OfferByToken(ctx context.Context, token string) (OfferRecord, error) {
	now := db.now()
	if r, ok := db.tokens.get(token, now); ok {
		return r, nil
	}
	return db.tokens.load(ctx, token, now, func() (OfferRecord, error) {
		var row *sql.Row
		if st := db.prepared(); st != nil {
			row = st.offerByToken.QueryRowContext(ctx, token)
		} else {
			row = db.sql.QueryRowContext(ctx, db.q(offerByTokenSQL), token)
		}
		r, err := scanOffer(row)
		if errors.Is(err, sql.ErrNoRows) {
			return r, fmt.Errorf("webhook token: %w", urltracker.ErrNotFound)
		}
		if err != nil {
			return r, fmt.Errorf("load offer by token: %w", err)
		}
		return r, nil
	})
}

// Offers lists offers, newest first.
func (db *DB) Offers(ctx context.Context, limit int) ([]OfferRecord, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT `+offerColumns+offerFrom+` ORDER BY o.id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("list offers: %w", err)
	}
	defer rows.Close()
	offers := []OfferRecord{}
	for rows.Next() {
		r, err := scanOffer(rows)
		if err != nil {
			return nil, err
		}
		offers = append(offers, r)
	}
	return offers, rows.Err()
}

// UpdateOffer replaces the editable fields of an offer. An empty APIKey keeps
// the stored key, since the key is write-only and clients never see it.
//
// The offer's next scheduled check follows the edit: none while disabled or
// without a schedule (unless urltracker holds its campaign), at once when it
// had none, and no later than one period from now when the period shrank.
func (db *DB) UpdateOffer(ctx context.Context, o urltracker.Offer) (OfferRecord, error) {
	policy, rules, alert, channels, err := offerDocs(o)
	if err != nil {
		return OfferRecord{}, err
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var next sql.NullInt64
		var held bool
		err := tx.QueryRowContext(ctx, db.q(`SELECT o.next_check_at, COALESCE(h.state, '') = ? FROM offers o
			LEFT JOIN offer_health h ON h.offer_id = o.id WHERE o.id = ?`), string(urltracker.StateHeld), o.ID).Scan(&next, &held)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("offer %d: %w", o.ID, urltracker.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("update offer %d: %w", o.ID, err)
		}
		now := db.now()
		if period, ok := urltracker.CheckPeriod(o, held); !ok {
			next = sql.NullInt64{}
		} else if latest := micros(now.Add(period)); !next.Valid {
			next = sql.NullInt64{Int64: micros(now), Valid: true}
		} else if next.Int64 > latest {
			next.Int64 = latest
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE offers SET name = ?, url = ?, expected_host = ?, update_interval_seconds = ?,
			check_every_seconds = ?, engine = ?, enabled = ?, trackier_api_base_url = ?,
			trackier_api_key = CASE WHEN ? = '' THEN trackier_api_key ELSE ? END,
			trackier_campaign_id = ?, policy = ?, rules = ?, updated_at = ?, next_check_at = ?, alert = ?, channels = ? WHERE id = ?`),
			o.Name, o.URL, o.ExpectedHost, o.UpdateIntervalSeconds, o.CheckEverySeconds, engineOf(o), o.Enabled, o.Trackier.APIBaseURL,
			o.Trackier.APIKey, o.Trackier.APIKey, o.Trackier.CampaignID, policy, rules, micros(now), next, alert, channels, o.ID)
		if err != nil {
			return fmt.Errorf("update offer %d: %w", o.ID, db.mapConstraint(err))
		}
		return db.syncAlertURLChannelTx(ctx, tx, o.ID, o.Policy.AlertURL)
	})
	if err != nil {
		return OfferRecord{}, err
	}
	db.tokens.forget()
	return db.Offer(ctx, o.ID)
}

// SnoozeOffer silences the offer's notifications and actions until
// s.Until; nil lifts a snooze.
func (db *DB) SnoozeOffer(ctx context.Context, id int64, s *urltracker.Snooze) (OfferRecord, error) {
	var until sql.NullInt64
	reason := ""
	if s != nil {
		until, reason = sql.NullInt64{Int64: micros(s.Until), Valid: true}, s.Reason
	}
	res, err := db.sql.ExecContext(ctx, db.q(`UPDATE offers SET snoozed_until = ?, snooze_reason = ?, updated_at = ? WHERE id = ?`),
		until, reason, micros(db.now()), id)
	if err != nil {
		return OfferRecord{}, fmt.Errorf("snooze offer %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return OfferRecord{}, fmt.Errorf("offer %d: %w", id, urltracker.ErrNotFound)
	}
	db.tokens.forget()
	return db.Offer(ctx, id)
}

// DeleteOffer removes an offer with its tokens, events and checks, and
// records the deletion in the audit log. jobs.Queue.DeleteOffer also cancels
// the offer's pending jobs; prefer it where a queue exists.
func (db *DB) DeleteOffer(ctx context.Context, id int64, by Actor) error {
	err := db.InTx(ctx, func(tx *sql.Tx) error { return db.DeleteOfferTx(ctx, tx, id, by) })
	db.ForgetTokens()
	return err
}

// DeleteOfferTx is DeleteOffer inside tx. Call ForgetTokens once tx has
// committed: a webhook looking its token up in between would cache the
// offer still there.
func (db *DB) DeleteOfferTx(ctx context.Context, tx *sql.Tx, id int64, by Actor) error {
	defer db.tokens.forget()
	var name string
	err := tx.QueryRowContext(ctx, db.q(`DELETE FROM offers WHERE id = ? RETURNING name`), id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("offer %d: %w", id, urltracker.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete offer %d: %w", id, err)
	}
	return db.auditTx(ctx, tx, by, "offer_deleted", map[string]any{"offer_id": id, "name": name})
}

// ForgetTokens drops this instance's cache of webhook tokens, so that a
// change to offers committed outside this package's own methods shows at
// once.
func (db *DB) ForgetTokens() { db.tokens.forget() }

// ActiveOfferCount counts enabled offers.
func (db *DB) ActiveOfferCount(ctx context.Context) (int, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, db.q(activeOffersSQL), true).Scan(&n)
	return n, err
}

// mapConstraint turns a unique-constraint violation into ErrConflict.
func (db *DB) mapConstraint(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value") || strings.Contains(msg, "SQLSTATE 23505") {
		return fmt.Errorf("%w: %v", urltracker.ErrConflict, err)
	}
	return err
}
