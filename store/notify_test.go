package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

// TestNotificationsMigrationTurnsAlertURLIntoAChannel stores an offer with
// an alert_url under the schema before 0010, migrates, and finds the URL as
// the offer's implicit webhook channel, routed to the offer alone and
// speaking the JSON shape alert_url always received.
func TestNotificationsMigrationTurnsAlertURLIntoAChannel(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, testutil.DatabaseURL(t, backend))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ms, err := Migrations()
			if err != nil {
				t.Fatal(err)
			}
			exec := func(query string, args ...any) {
				t.Helper()
				if _, err := db.sql.ExecContext(ctx, db.q(query), args...); err != nil {
					t.Fatalf("%.60s…: %v", query, err)
				}
			}
			var notifications string
			for _, m := range ms {
				if strings.HasSuffix(m.Name, "_notifications.sql") {
					notifications = m.SQL
					break
				}
				exec(db.dialectSQL(m.SQL))
			}
			exec(`INSERT INTO offers (name, url, update_interval_seconds, enabled, policy, created_at, updated_at)
				VALUES ('alerting', 'https://a.example/', 300, TRUE, '{"mode":"act","alert_url":"https://hooks.slack.example/services/T/B/secret"}', 1, 1)`)
			exec(`INSERT INTO offers (name, url, update_interval_seconds, enabled, policy, created_at, updated_at)
				VALUES ('quiet', 'https://b.example/', 300, TRUE, '{"mode":"act","alert_url":""}', 1, 1)`)

			exec(db.dialectSQL(notifications))

			channels, err := db.Channels(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(channels) != 1 {
				t.Fatalf("channels after the migration = %+v, want the alert_url's", channels)
			}
			c := channels[0]
			if c.Kind != urltracker.ChannelWebhook || c.OfferID != 1 || c.Default || c.Secrets.URL != "https://hooks.slack.example/services/T/B/secret" ||
				c.Template != urltracker.LegacyAlertTemplate || c.Target != "https://hooks.slack.example/…" {
				t.Errorf("implicit channel = %+v", c)
			}
			for id, want := range map[int64]int{1: 1, 2: 0} {
				o, err := db.Offer(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if o.Alert != urltracker.DefaultAlertSettings() || len(o.Channels) != 0 || o.Snooze != nil {
					t.Errorf("offer %d after the migration: alert %+v channels %v snooze %v", id, o.Alert, o.Channels, o.Snooze)
				}
				var routed []urltracker.Channel
				err = db.InTx(ctx, func(tx *sql.Tx) error {
					routed, err = db.RoutedChannelsTx(ctx, tx, id, o.Channels)
					return err
				})
				if err != nil || len(routed) != want {
					t.Errorf("offer %d routes to %+v (%v), want %d channels", id, routed, err, want)
				}
			}
		})
	}
}

func TestChannelsRoutingDeliveriesWindowsAndSnooze(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, testutil.DatabaseURL(t, backend))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			mk := func(c urltracker.Channel) urltracker.Channel {
				t.Helper()
				c, err := db.CreateChannel(ctx, c.Normalize())
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			def := mk(urltracker.Channel{Name: "ops", Kind: urltracker.ChannelSlack, Default: true,
				Secrets: urltracker.ChannelSecrets{URL: "https://hooks.slack.example/services/T/B/x"}})
			own := mk(urltracker.Channel{Name: "team", Kind: urltracker.ChannelTelegram, ChatID: "42",
				Secrets: urltracker.ChannelSecrets{BotToken: "1:tok"}})
			other := mk(urltracker.Channel{Name: "unused", Kind: urltracker.ChannelDiscord,
				Secrets: urltracker.ChannelSecrets{URL: "https://discord.example/api/webhooks/1/x"}})
			if own.Secrets.BotToken != "1:tok" || strings.Join(own.SecretsSet, ",") != "bot_token" || own.APIBaseURL != urltracker.DefaultTelegramAPIBaseURL {
				t.Errorf("stored channel = %+v", own)
			}

			o := urltracker.NewOffer()
			o.Name, o.URL, o.Channels = "routed", "https://r.example/", []int64{own.ID}
			o.Policy.AlertURL = "https://legacy.example/hook"
			rec, err := db.CreateOffer(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			routed := func() []string {
				var names []string
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					cs, err := db.RoutedChannelsTx(ctx, tx, rec.ID, rec.Channels)
					for _, c := range cs {
						names = append(names, c.Name)
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return names
			}
			if got := strings.Join(routed(), ","); got != "ops,alert_url of offer #"+strconv.FormatInt(rec.ID, 10)+",team" {
				t.Errorf("routed = %s", got)
			}
			// Dropping the alert_url drops its channel; deleting a channel
			// drops it from the offers naming it.
			rec.Policy.AlertURL = ""
			if rec, err = db.UpdateOffer(ctx, rec.Offer); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteChannel(ctx, own.ID); err != nil {
				t.Fatal(err)
			}
			if rec, err = db.Offer(ctx, rec.ID); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(routed(), ","); got != "ops" || len(rec.Channels) != 0 {
				t.Errorf("after removals: routed %s, offer channels %v", got, rec.Channels)
			}
			if missing, err := db.MissingChannels(ctx, []int64{def.ID, own.ID, other.ID}); err != nil || len(missing) != 1 || missing[0] != own.ID {
				t.Errorf("missing = %v, %v", missing, err)
			}

			// Secrets survive an update that leaves them out only if the
			// caller keeps them; the store writes what it is given.
			other.Name = "renamed"
			if other, err = db.UpdateChannel(ctx, other); err != nil || other.Name != "renamed" || other.Secrets.URL == "" {
				t.Errorf("update = %+v, %v", other, err)
			}

			offerID := rec.ID
			for i, outcome := range []urltracker.DeliveryOutcome{urltracker.DeliveryRetrying, urltracker.DeliverySucceeded} {
				d := urltracker.Delivery{ChannelID: def.ID, OfferID: &offerID, JobID: 9, Attempt: i + 1, At: time.Now(),
					Event: urltracker.NoticeFailing, Title: "down", Outcome: outcome}
				if err := db.InTx(ctx, func(tx *sql.Tx) error { return db.RecordDeliveryTx(ctx, tx, &d) }); err != nil {
					t.Fatal(err)
				}
			}
			byChannel, err := db.ChannelDeliveries(ctx, def.ID, 10)
			if err != nil || len(byChannel) != 2 || byChannel[0].Outcome != urltracker.DeliverySucceeded || byChannel[1].Attempt != 1 {
				t.Errorf("channel deliveries = %+v, %v", byChannel, err)
			}
			if byOffer, err := db.OfferDeliveries(ctx, offerID, 10); err != nil || len(byOffer) != 2 || *byOffer[0].OfferID != offerID {
				t.Errorf("offer deliveries = %+v, %v", byOffer, err)
			}

			until := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
			if rec, err = db.SnoozeOffer(ctx, offerID, &urltracker.Snooze{Until: until, Reason: "migration"}); err != nil ||
				rec.Snooze == nil || !rec.Snooze.Until.Equal(until) || rec.Snooze.Reason != "migration" {
				t.Errorf("snoozed offer = %+v, %v", rec.Snooze, err)
			}
			if rec, err = db.SnoozeOffer(ctx, offerID, nil); err != nil || rec.Snooze != nil {
				t.Errorf("unsnoozed offer = %+v, %v", rec.Snooze, err)
			}

			w := urltracker.MaintenanceWindow{Name: "nightly", TimeZone: "Europe/Berlin", Offers: []int64{offerID},
				Weekly: &urltracker.WeeklyWindow{Days: []string{"sat"}, Start: "23:00", DurationMinutes: 180}}.Normalize()
			if w, err = db.SaveMaintenanceWindow(ctx, w); err != nil || w.ID == 0 {
				t.Fatal(w, err)
			}
			w.Name = "weekend"
			if w, err = db.SaveMaintenanceWindow(ctx, w); err != nil || w.Name != "weekend" || w.Weekly.Start != "23:00" {
				t.Errorf("saved window = %+v, %v", w, err)
			}
			var ws []urltracker.MaintenanceWindow
			if err := db.InTx(ctx, func(tx *sql.Tx) error { ws, err = db.MaintenanceWindowsTx(ctx, tx); return err }); err != nil || len(ws) != 1 {
				t.Errorf("windows = %+v, %v", ws, err)
			}
			if err := db.DeleteMaintenanceWindow(ctx, w.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := db.MaintenanceWindow(ctx, w.ID); err == nil {
				t.Error("deleted window still loads")
			}
		})
	}
}
