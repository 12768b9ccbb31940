-- 0001_init: the first schema of urltracker.
-- Times are Unix microseconds (BIGINT) so that SQLite and PostgreSQL store and
-- compare them the same way. {{pk}} is replaced by each dialect's
-- auto-incrementing primary key. JSON documents are stored as TEXT.

-- offers: the links urltracker watches. trackier_* bind an offer to one
-- Trackier campaign (trackier_api_key is write-only through the API); policy
-- is the JSON health policy (pause/resume thresholds, destination updates,
-- alert URL).
CREATE TABLE offers (
    id {{pk}},
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    expected_host TEXT NOT NULL DEFAULT '',
    update_interval_seconds INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    trackier_api_base_url TEXT NOT NULL DEFAULT '',
    trackier_api_key TEXT NOT NULL DEFAULT '',
    trackier_campaign_id TEXT NOT NULL DEFAULT '',
    policy TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- webhook_tokens: the unguessable tokens in S2S push URLs; each identifies
-- one offer, and an offer may have several (one per Trackier campaign).
CREATE TABLE webhook_tokens (
    token TEXT PRIMARY KEY,
    offer_id BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_tokens_offer ON webhook_tokens (offer_id);

-- offer_counters: per-offer counters, updated by single atomic statements
-- (never read-modify-write) so that concurrent instances stay correct.
CREATE TABLE offer_counters (
    offer_id BIGINT PRIMARY KEY REFERENCES offers (id) ON DELETE CASCADE,
    webhook_count BIGINT NOT NULL DEFAULT 0,
    check_count BIGINT NOT NULL DEFAULT 0,
    last_webhook_at BIGINT,
    last_check_at BIGINT,
    last_verdict TEXT NOT NULL DEFAULT ''
);

-- events: one row per received webhook. click_id is unique per offer when
-- present (the unique index makes a redelivered click a no-op); payload holds
-- every Trackier macro received, as JSON; outcome says what was done with it.
CREATE TABLE events (
    id {{pk}},
    offer_id BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    received_at BIGINT NOT NULL,
    click_id TEXT NOT NULL DEFAULT '',
    campaign_id TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE UNIQUE INDEX events_offer_click ON events (offer_id, click_id) WHERE click_id <> '';
CREATE INDEX events_offer_id ON events (offer_id, id);
CREATE INDEX events_received_at ON events (received_at);

-- checks: one row per run of the tracer on an offer, with its hop chain as
-- JSON. landing_changed/previous_landing record drift of the final landing
-- page against the offer's previous healthy check.
CREATE TABLE checks (
    id {{pk}},
    offer_id BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    success BOOLEAN NOT NULL,
    verdict TEXT NOT NULL,
    final_url TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    chain TEXT NOT NULL,
    landing_changed BOOLEAN NOT NULL DEFAULT FALSE,
    previous_landing TEXT NOT NULL DEFAULT ''
);
CREATE INDEX checks_offer_id ON checks (offer_id, id);
CREATE INDEX checks_started_at ON checks (started_at);

-- kill_switch: the fleet-wide switch for all outbound automation, a single
-- row read by every instance. enabled = FALSE stops checks and actions.
CREATE TABLE kill_switch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
INSERT INTO kill_switch (id, enabled, updated_at, updated_by) VALUES (1, TRUE, 0, 'initial');

-- audit_log: who changed what operational state, when, from which instance
-- (kill switch toggles, offer deletions). detail is JSON.
CREATE TABLE audit_log (
    id {{pk}},
    at BIGINT NOT NULL,
    instance TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
