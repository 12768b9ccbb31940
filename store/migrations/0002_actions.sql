-- 0002_actions: per-offer health state and the log of Trackier actions and
-- alerts.

-- offer_health: the streaks that decide pause and resume. Only checks that
-- judged the link count (not `blocked`, not runs cut by the kill switch).
-- state is 'active' or 'paused_by_urltracker'; only a campaign urltracker
-- paused itself is ever resumed. last_verdict is the verdict of the last
-- counted check, to tell when health changes.
CREATE TABLE offer_health (
    offer_id BIGINT PRIMARY KEY REFERENCES offers (id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'active',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    consecutive_successes INTEGER NOT NULL DEFAULT 0,
    last_verdict TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

-- actions: one row per attempt of an action job (pause, resume,
-- set_destination, alert). outcome is succeeded, retrying, failed or
-- suppressed (the kill switch was off when it came due). request holds the
-- call as sent (method, URL, body) with secrets redacted: the Trackier API
-- key is never stored here, and alert URLs keep only their host.
CREATE TABLE actions (
    id {{pk}},
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
CREATE INDEX actions_offer_id ON actions (offer_id, id);
