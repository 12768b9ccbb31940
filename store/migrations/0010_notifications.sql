-- 0010_notifications: channels, their deliveries, alert settings, snooze,
-- maintenance windows and the outage state that threads notices.

-- channels: where notifications go. settings holds the kind's fields that
-- may be shown (JSON of urltracker.Channel); secrets holds the write-only
-- ones (incoming webhook URLs, bot tokens, SMTP passwords, HMAC keys).
-- is_default channels receive every offer's notifications. offer_id marks
-- the implicit webhook channel that carries an offer's policy.alert_url; it
-- goes with the offer.
CREATE TABLE channels (
    id {{pk}},
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    settings TEXT NOT NULL DEFAULT '{}',
    secrets TEXT NOT NULL DEFAULT '{}',
    offer_id BIGINT UNIQUE REFERENCES offers (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- deliveries: one row per attempt of a notification to a channel, and one
-- per notification a snooze or maintenance window held back (outcome
-- silenced). offer_id is NULL for notices about no offer (kill switch,
-- tests).
CREATE TABLE deliveries (
    id {{pk}},
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    offer_id BIGINT REFERENCES offers (id) ON DELETE CASCADE,
    job_id BIGINT NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    title TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT
);
CREATE INDEX deliveries_channel_id ON deliveries (channel_id, id);
CREATE INDEX deliveries_offer_id ON deliveries (offer_id, id);

-- maintenance_windows: spec is the JSON of urltracker.MaintenanceWindow
-- (zone, one-off bounds or weekly schedule, offers).
CREATE TABLE maintenance_windows (
    id {{pk}},
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- offers: alert settings (JSON), channel ids (JSON array) and the snooze.
ALTER TABLE offers ADD COLUMN alert TEXT NOT NULL DEFAULT '{"failure_threshold":2,"success_threshold":1,"remind_every_seconds":14400}';
ALTER TABLE offers ADD COLUMN channels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE offers ADD COLUMN snoozed_until BIGINT;
ALTER TABLE offers ADD COLUMN snooze_reason TEXT NOT NULL DEFAULT '';

-- offer_health: the outage now open (first failing check of it; NULL when
-- healthy), and when its last notice (failing or reminder) was decided
-- (NULL: the outage has not reached the failure threshold yet).
ALTER TABLE offer_health ADD COLUMN outage_started_at BIGINT;
ALTER TABLE offer_health ADD COLUMN notified_at BIGINT;

-- An offer's alert_url keeps working as an implicit webhook channel.
-- dialect: sqlite
INSERT INTO channels (name, kind, settings, secrets, offer_id, created_at, updated_at)
SELECT 'alert_url of offer #' || id, 'webhook', '{}', json_object('url', json_extract(policy, '$.alert_url')), id, updated_at, updated_at
FROM offers WHERE COALESCE(json_extract(policy, '$.alert_url'), '') <> '';
-- dialect: postgres
INSERT INTO channels (name, kind, settings, secrets, offer_id, created_at, updated_at)
SELECT 'alert_url of offer #' || id, 'webhook', '{}', json_build_object('url', policy::jsonb ->> 'alert_url')::text, id, updated_at, updated_at
FROM offers WHERE COALESCE(policy::jsonb ->> 'alert_url', '') <> '';
