-- 0004_ids_never_reused: a generated id is never handed out twice.
-- PostgreSQL's identity columns never reuse a value. SQLite's INTEGER PRIMARY
-- KEY hands the largest id out again once its row is deleted, so a new offer
-- could take a deleted offer's id and, with it, the deleted offer's pending
-- Trackier actions. Only AUTOINCREMENT prevents that, and SQLite can add it
-- only by rebuilding the table: create, copy, drop, rename (foreign keys are
-- off meanwhile, see store.migrationConn), then the indexes again.

-- dialect: sqlite

CREATE TABLE offers_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO offers_new (id, name, url, expected_host, update_interval_seconds, enabled,
    trackier_api_base_url, trackier_api_key, trackier_campaign_id, policy, created_at, updated_at)
SELECT id, name, url, expected_host, update_interval_seconds, enabled,
    trackier_api_base_url, trackier_api_key, trackier_campaign_id, policy, created_at, updated_at
FROM offers;
DROP TABLE offers;
ALTER TABLE offers_new RENAME TO offers;

CREATE TABLE events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    offer_id BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    received_at BIGINT NOT NULL,
    click_id TEXT NOT NULL DEFAULT '',
    campaign_id TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    outcome TEXT NOT NULL
);
INSERT INTO events_new (id, offer_id, received_at, click_id, campaign_id, payload, outcome)
SELECT id, offer_id, received_at, click_id, campaign_id, payload, outcome FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE UNIQUE INDEX events_offer_click ON events (offer_id, click_id) WHERE click_id <> '';
CREATE INDEX events_offer_id ON events (offer_id, id);
CREATE INDEX events_received_at ON events (received_at);

CREATE TABLE checks_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO checks_new (id, offer_id, started_at, duration_ms, success, verdict, final_url, error, chain,
    landing_changed, previous_landing)
SELECT id, offer_id, started_at, duration_ms, success, verdict, final_url, error, chain,
    landing_changed, previous_landing
FROM checks;
DROP TABLE checks;
ALTER TABLE checks_new RENAME TO checks;
CREATE INDEX checks_offer_id ON checks (offer_id, id);
CREATE INDEX checks_started_at ON checks (started_at);

CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    instance TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO audit_log_new (id, at, instance, action, detail)
SELECT id, at, instance, action, detail FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;

CREATE TABLE actions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    offer_id BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    check_id BIGINT,
    job_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    success BOOLEAN NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    request TEXT NOT NULL DEFAULT '{}',
    next_attempt_at BIGINT
);
INSERT INTO actions_new (id, offer_id, check_id, job_id, kind, attempt, at, outcome, success, status_code,
    error, duration_ms, request, next_attempt_at)
SELECT id, offer_id, check_id, job_id, kind, attempt, at, outcome, success, status_code,
    error, duration_ms, request, next_attempt_at
FROM actions;
DROP TABLE actions;
ALTER TABLE actions_new RENAME TO actions;
CREATE INDEX actions_offer_id ON actions (offer_id, id);

-- The newest offer may have been deleted before this migration: its id,
-- recorded in the audit log, is not handed out again either.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'offers', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'offers');
UPDATE sqlite_sequence SET seq = max(seq, (
    SELECT coalesce(max(CAST(json_extract(detail, '$.offer_id') AS INTEGER)), 0)
    FROM audit_log WHERE action = 'offer_deleted'))
WHERE name = 'offers';
