package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

const channelColumns = `id, name, kind, is_default, settings, secrets, offer_id, created_at, updated_at`

func scanChannel(s scanner) (urltracker.Channel, error) {
	var c urltracker.Channel
	var settings, secrets string
	var offerID sql.NullInt64
	var created, updated int64
	var id int64
	var name, kind string
	var isDefault bool
	if err := s.Scan(&id, &name, &kind, &isDefault, &settings, &secrets, &offerID, &created, &updated); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(settings), &c); err != nil {
		return c, fmt.Errorf("channel %d: decode settings: %w", id, err)
	}
	if err := json.Unmarshal([]byte(secrets), &c.Secrets); err != nil {
		return c, fmt.Errorf("channel %d: decode secrets: %w", id, err)
	}
	c.ID, c.Name, c.Kind, c.Default, c.OfferID = id, name, urltracker.ChannelKind(kind), isDefault, offerID.Int64
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	if c.OfferID != 0 && c.Template == "" {
		c.Template = urltracker.LegacyAlertTemplate
	}
	return c.Normalize(), nil
}

// channelRow is what a channel stores besides its columns.
func channelRow(c urltracker.Channel) (settings, secrets string, err error) {
	s, err := jsonenc.Marshal(c)
	if err != nil {
		return "", "", err
	}
	sec, err := jsonenc.Marshal(c.Secrets)
	return string(s), string(sec), err
}

// CreateChannel stores a new channel.
func (db *DB) CreateChannel(ctx context.Context, c urltracker.Channel) (urltracker.Channel, error) {
	settings, secrets, err := channelRow(c)
	if err != nil {
		return c, err
	}
	now := micros(db.now())
	var id int64
	err = db.sql.QueryRowContext(ctx, db.q(`INSERT INTO channels (name, kind, is_default, settings, secrets, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), c.Name, string(c.Kind), c.Default, settings, secrets, now, now).Scan(&id)
	if err != nil {
		return c, fmt.Errorf("create channel %q: %w", c.Name, err)
	}
	return db.Channel(ctx, id)
}

// Channel loads one channel.
func (db *DB) Channel(ctx context.Context, id int64) (urltracker.Channel, error) {
	c, err := scanChannel(db.sql.QueryRowContext(ctx, db.q(`SELECT `+channelColumns+` FROM channels WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("channel %d: %w", id, urltracker.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("load channel %d: %w", id, err)
	}
	return c, nil
}

// Channels lists every channel, oldest first.
func (db *DB) Channels(ctx context.Context) ([]urltracker.Channel, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+channelColumns+` FROM channels ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return collect(rows, scanChannel)
}

// UpdateChannel replaces a channel's settings; secrets left empty keep the
// stored ones (they are write-only, clients never see them).
func (db *DB) UpdateChannel(ctx context.Context, c urltracker.Channel) (urltracker.Channel, error) {
	settings, secrets, err := channelRow(c)
	if err != nil {
		return c, err
	}
	res, err := db.sql.ExecContext(ctx, db.q(`UPDATE channels SET name = ?, kind = ?, is_default = ?, settings = ?, secrets = ?,
		updated_at = ? WHERE id = ?`), c.Name, string(c.Kind), c.Default, settings, secrets, micros(db.now()), c.ID)
	if err != nil {
		return c, fmt.Errorf("update channel %d: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return c, fmt.Errorf("channel %d: %w", c.ID, urltracker.ErrNotFound)
	}
	return db.Channel(ctx, c.ID)
}

// DeleteChannel removes a channel with its deliveries log; offers that
// named it no longer do.
func (db *DB) DeleteChannel(ctx context.Context, id int64) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(`DELETE FROM channels WHERE id = ?`), id)
		if err != nil {
			return fmt.Errorf("delete channel %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("channel %d: %w", id, urltracker.ErrNotFound)
		}
		rows, err := tx.QueryContext(ctx, db.q(`SELECT id, channels FROM offers WHERE channels <> '[]'`))
		if err != nil {
			return err
		}
		type named struct {
			id       int64
			channels []int64
		}
		offers, err := collect(rows, func(s scanner) (named, error) {
			var n named
			var list string
			if err := s.Scan(&n.id, &list); err != nil {
				return n, err
			}
			return n, json.Unmarshal([]byte(list), &n.channels)
		})
		if err != nil {
			return fmt.Errorf("delete channel %d: offers naming it: %w", id, err)
		}
		for _, o := range offers {
			if !slices.Contains(o.channels, id) {
				continue
			}
			list, _ := jsonenc.Marshal(slices.DeleteFunc(o.channels, func(c int64) bool { return c == id }))
			if _, err := tx.ExecContext(ctx, db.q(`UPDATE offers SET channels = ? WHERE id = ?`), string(list), o.id); err != nil {
				return fmt.Errorf("delete channel %d from offer %d: %w", id, o.id, err)
			}
		}
		return nil
	})
}

// RoutedChannelsTx lists inside tx the channels an offer's notices go to:
// the default channels, the offer's own, and the implicit channel of its
// alert_url; each once. offerID 0 lists the default channels alone.
func (db *DB) RoutedChannelsTx(ctx context.Context, tx *sql.Tx, offerID int64, own []int64) ([]urltracker.Channel, error) {
	rows, err := tx.QueryContext(ctx, db.q(`SELECT `+channelColumns+` FROM channels WHERE is_default OR offer_id = ? ORDER BY id`), offerID)
	if err != nil {
		return nil, fmt.Errorf("channels of offer %d: %w", offerID, err)
	}
	out, err := collect(rows, scanChannel)
	if err != nil {
		return nil, fmt.Errorf("channels of offer %d: %w", offerID, err)
	}
	for _, id := range own {
		if slices.ContainsFunc(out, func(c urltracker.Channel) bool { return c.ID == id }) {
			continue
		}
		c, err := scanChannel(tx.QueryRowContext(ctx, db.q(`SELECT `+channelColumns+` FROM channels WHERE id = ?`), id))
		if errors.Is(err, sql.ErrNoRows) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("channel %d of offer %d: %w", id, offerID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// MissingChannels returns the ids in ids that name no channel.
func (db *DB) MissingChannels(ctx context.Context, ids []int64) ([]int64, error) {
	var missing []int64
	for _, id := range ids {
		var n int
		if err := db.sql.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM channels WHERE id = ?`), id).Scan(&n); err != nil {
			return nil, fmt.Errorf("look up channel %d: %w", id, err)
		}
		if n == 0 {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// syncAlertURLChannelTx keeps the implicit webhook channel of an offer's
// policy.alert_url in step with it: created, re-pointed, or removed.
func (db *DB) syncAlertURLChannelTx(ctx context.Context, tx *sql.Tx, offerID int64, alertURL string) error {
	if alertURL == "" {
		_, err := tx.ExecContext(ctx, db.q(`DELETE FROM channels WHERE offer_id = ?`), offerID)
		return err
	}
	secrets, _ := jsonenc.Marshal(urltracker.ChannelSecrets{URL: alertURL})
	now := micros(db.now())
	_, err := tx.ExecContext(ctx, db.q(`INSERT INTO channels (name, kind, settings, secrets, offer_id, created_at, updated_at)
		VALUES (?, ?, '{}', ?, ?, ?, ?) ON CONFLICT (offer_id) DO UPDATE SET secrets = excluded.secrets, updated_at = excluded.updated_at`),
		fmt.Sprintf("alert_url of offer #%d", offerID), string(urltracker.ChannelWebhook), string(secrets), offerID, now, now)
	if err != nil {
		return fmt.Errorf("alert_url channel of offer %d: %w", offerID, err)
	}
	return nil
}
