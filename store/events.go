package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// IngestResult is what storing one webhook event did.
type IngestResult struct {
	EventID   int64
	Duplicate bool
	Outcome   urltracker.EventOutcome
}

// EventWriter writes webhook events inside one transaction, through
// statements bound to it once for the whole batch.
type EventWriter struct {
	db            *DB
	tx            *sql.Tx
	insert, count *sql.Stmt
}

// EventWriter returns a writer of events inside tx.
func (db *DB) EventWriter(ctx context.Context, tx *sql.Tx) *EventWriter {
	w := &EventWriter{db: db, tx: tx}
	if st := db.prepared(); st != nil {
		w.insert, w.count = tx.StmtContext(ctx, st.insertEvent), tx.StmtContext(ctx, st.countWebhooks)
		return w
	}
	// Not migrated through this DB (some tests): prepare inside the
	// transaction, on its own connection.
	var err error
	if w.insert, err = tx.PrepareContext(ctx, db.q(db.insertEventStatement())); err == nil {
		w.count, _ = tx.PrepareContext(ctx, db.q(countWebhooksSQL))
	}
	return w
}

// Insert stores e unless the offer already has an event with the same
// non-empty click id; then it reports a duplicate and stores nothing.
// payload is e.Payload as JSON, or nil to have it encoded here.
func (w *EventWriter) Insert(ctx context.Context, e urltracker.Event, payload []byte) (id int64, duplicate bool, err error) {
	if w.insert == nil {
		return 0, false, errors.New("insert event: statement not prepared")
	}
	if payload, err = payloadJSON(e, payload); err != nil {
		return 0, false, err
	}
	args := []any{e.OfferID, micros(e.ReceivedAt), e.ClickID, e.CampaignID, string(payload), string(e.Outcome)}
	if w.db.dialect == SQLite {
		return w.insertSQLite(ctx, e.OfferID, args)
	}
	err = w.insert.QueryRowContext(ctx, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("insert event for offer %d: %w", e.OfferID, err)
	}
	return id, false, nil
}

// payloadJSON is payload, or e.Payload encoded as JSON when payload is nil.
func payloadJSON(e urltracker.Event, payload []byte) ([]byte, error) {
	if payload != nil {
		return payload, nil
	}
	b, err := jsonenc.Marshal(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	return b, nil
}

// insertSQLite runs insertEventSQLiteSQL: no row changed is a duplicate,
// and the row's id is the connection's last inserted rowid (events has no
// trigger that could insert another row in between).
func (w *EventWriter) insertSQLite(ctx context.Context, offerID int64, args []any) (id int64, duplicate bool, err error) {
	res, err := w.insert.ExecContext(ctx, args...)
	if err != nil {
		return 0, false, fmt.Errorf("insert event for offer %d: %w", offerID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, fmt.Errorf("insert event for offer %d: %w", offerID, err)
	}
	if n == 0 {
		return 0, true, nil
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, false, fmt.Errorf("insert event for offer %d: %w", offerID, err)
	}
	return id, false, nil
}

// SetOutcome corrects the outcome of an event inserted in this transaction.
func (w *EventWriter) SetOutcome(ctx context.Context, id int64, outcome urltracker.EventOutcome) error {
	if _, err := w.tx.ExecContext(ctx, w.db.q(`UPDATE events SET outcome = ? WHERE id = ?`), string(outcome), id); err != nil {
		return fmt.Errorf("set outcome of event %d: %w", id, err)
	}
	return nil
}

// CountWebhooks adds n webhooks, the latest received at last, to the
// offer's counters in one atomic statement.
func (w *EventWriter) CountWebhooks(ctx context.Context, offerID int64, n int, last time.Time) error {
	if w.count == nil {
		return errors.New("count webhooks: statement not prepared")
	}
	if _, err := w.count.ExecContext(ctx, n, micros(last), micros(last), offerID); err != nil {
		return fmt.Errorf("count webhooks of offer %d: %w", offerID, err)
	}
	return nil
}

// NewEvent is one webhook event to store, with its payload already encoded
// as JSON.
type NewEvent struct {
	Event   urltracker.Event
	Payload []byte
}

// WriteEvents stores a batch of events and adds the stored ones to their
// offers' webhook counters. An event whose offer already has its non-empty
// click id (from an earlier batch or earlier in this one) is not stored: its
// id is 0. tx may be nil: the batch then commits on its own.
//
// On PostgreSQL the whole batch is one statement, so one round trip, and
// with a nil tx the commit travels with it: a batch waits for the network
// once and for the WAL flush once, however many events it holds. On SQLite,
// which has no network to wait for, the events go through the prepared
// per-event statement.
func (db *DB) WriteEvents(ctx context.Context, tx *sql.Tx, events []NewEvent) ([]int64, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if db.dialect == Postgres {
		return db.writeEventsPostgres(ctx, tx, events)
	}
	if tx == nil {
		var ids []int64
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			ids, err = db.WriteEvents(ctx, tx, events)
			return err
		})
		return ids, err
	}
	w := db.EventWriter(ctx, tx)
	ids := make([]int64, len(events))
	type count struct {
		n    int
		last time.Time
	}
	counts := map[int64]*count{}
	for i, ne := range events {
		id, dup, err := w.Insert(ctx, ne.Event, ne.Payload)
		if err != nil {
			return nil, err
		}
		if dup {
			continue
		}
		ids[i] = id
		c := counts[ne.Event.OfferID]
		if c == nil {
			c = &count{}
			counts[ne.Event.OfferID] = c
		}
		c.n++
		if ne.Event.ReceivedAt.After(c.last) {
			c.last = ne.Event.ReceivedAt
		}
	}
	offerIDs := slices.Sorted(maps.Keys(counts))
	for _, offerID := range offerIDs {
		if err := w.CountWebhooks(ctx, offerID, counts[offerID].n, counts[offerID].last); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func (db *DB) writeEventsPostgres(ctx context.Context, tx *sql.Tx, events []NewEvent) ([]int64, error) {
	n := len(events)
	offerIDs, received := make([]int64, n), make([]int64, n)
	clickIDs, campaignIDs, payloads, outcomes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, ne := range events {
		e := ne.Event
		payload, err := payloadJSON(e, ne.Payload)
		if err != nil {
			return nil, err
		}
		offerIDs[i], received[i] = e.OfferID, micros(e.ReceivedAt)
		clickIDs[i], campaignIDs[i], payloads[i], outcomes[i] = e.ClickID, e.CampaignID, string(payload), string(e.Outcome)
	}
	var rows *sql.Rows
	var err error
	if tx != nil {
		rows, err = tx.QueryContext(ctx, writeEventsPostgresSQL, offerIDs, received, clickIDs, campaignIDs, payloads, outcomes)
	} else {
		rows, err = db.sql.QueryContext(ctx, writeEventsPostgresSQL, offerIDs, received, clickIDs, campaignIDs, payloads, outcomes)
	}
	if err != nil {
		return nil, fmt.Errorf("insert %d events: %w", n, err)
	}
	defer rows.Close()
	ids := make([]int64, n)
	for rows.Next() {
		var ord, id int64
		if err := rows.Scan(&ord, &id); err != nil {
			return nil, fmt.Errorf("insert %d events: %w", n, err)
		}
		if ord < 1 || ord > int64(n) {
			return nil, fmt.Errorf("insert %d events: returned position %d", n, ord)
		}
		ids[ord-1] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("insert %d events: %w", n, err)
	}
	return ids, nil
}

// SetEventOutcomeTx corrects the outcome of an event stored in tx.
func (db *DB) SetEventOutcomeTx(ctx context.Context, tx *sql.Tx, id int64, outcome urltracker.EventOutcome) error {
	return (&EventWriter{db: db, tx: tx}).SetOutcome(ctx, id, outcome)
}

// InsertEventTx stores one event inside tx; see EventWriter.Insert.
func (db *DB) InsertEventTx(ctx context.Context, tx *sql.Tx, e urltracker.Event) (id int64, duplicate bool, err error) {
	return db.EventWriter(ctx, tx).Insert(ctx, e, nil)
}

// EventByClick finds the stored event of a click, for answering duplicates.
func (db *DB) EventByClick(ctx context.Context, offerID int64, clickID string) (IngestResult, error) {
	res := IngestResult{Duplicate: true}
	var outcome string
	err := db.sql.QueryRowContext(ctx, db.q(eventByClickSQL), offerID, clickID).
		Scan(&res.EventID, &outcome)
	if err != nil {
		return res, fmt.Errorf("load event of click %q: %w", clickID, err)
	}
	res.Outcome = urltracker.EventOutcome(outcome)
	return res, nil
}

// Events lists an offer's events, newest first, cut for display (see
// urltracker.Event.Shown).
func (db *DB) Events(ctx context.Context, offerID int64, limit int) ([]urltracker.Event, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT id, offer_id, received_at, click_id, campaign_id, payload, outcome
		FROM events WHERE offer_id = ? ORDER BY id DESC LIMIT ?`), offerID, limit)
	if err != nil {
		return nil, fmt.Errorf("list events of offer %d: %w", offerID, err)
	}
	defer rows.Close()
	events := []urltracker.Event{}
	for rows.Next() {
		var e urltracker.Event
		var at int64
		var payload, outcome string
		if err := rows.Scan(&e.ID, &e.OfferID, &at, &e.ClickID, &e.CampaignID, &payload, &outcome); err != nil {
			return nil, err
		}
		e.ReceivedAt, e.Outcome = fromMicros(at), urltracker.EventOutcome(outcome)
		if err := json.Unmarshal([]byte(payload), &e.Payload); err != nil {
			return nil, fmt.Errorf("event %d: decode payload: %w", e.ID, err)
		}
		events = append(events, e.Shown())
	}
	return events, rows.Err()
}

// CampaignMismatch tells how many of an offer's recent webhooks came from
// another campaign than the bound one, and the latest of them.
type CampaignMismatch struct {
	Count  int
	CampID string // the camp_id of the latest
	At     time.Time
}

// mismatchWindow is how many of an offer's latest events CampaignMismatches
// looks at, so that the offer page costs the same however old the offer.
const mismatchWindow = 1000

// CampaignMismatches looks for campaign_mismatch events among the offer's
// latest events.
func (db *DB) CampaignMismatches(ctx context.Context, offerID int64) (CampaignMismatch, error) {
	var m CampaignMismatch
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT received_at, payload FROM
		(SELECT id, received_at, payload, outcome FROM events WHERE offer_id = ? ORDER BY id DESC LIMIT ?) latest
		WHERE outcome = ? ORDER BY id DESC`), offerID, mismatchWindow, string(urltracker.OutcomeCampaignMismatch))
	if err != nil {
		return m, fmt.Errorf("look for campaign mismatches of offer %d: %w", offerID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var at int64
		var payload string
		if err := rows.Scan(&at, &payload); err != nil {
			return m, err
		}
		if m.Count == 0 {
			var macros map[string]string
			_ = json.Unmarshal([]byte(payload), &macros)
			m.CampID, m.At = urltracker.ShortValue(macros["camp_id"]), fromMicros(at)
		}
		m.Count++
	}
	return m, rows.Err()
}
