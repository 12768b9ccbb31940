-- 0009_judge: what the judge finds on a landing page, the offers' own
-- rules, and the health history kept as rollups.

-- offers.rules: the offer's rules as JSON ({"must_contain":[…],
-- "must_not_contain":[…], "max_total_ms", "max_hops", "refused_is_broken"}).
ALTER TABLE offers ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';

-- checks.signals: the evidence behind the verdict, JSON [{"name","evidence"}];
-- checks.certificates: the chain's HTTPS hosts and when their certificates
-- expire, JSON [{"host","expires_at"}].
ALTER TABLE checks ADD COLUMN signals TEXT NOT NULL DEFAULT '[]';
ALTER TABLE checks ADD COLUMN certificates TEXT NOT NULL DEFAULT '[]';

-- offer_health.certificates_warned: the certificates ("host expires_at")
-- the policy already alerted about, so that one certificate alerts once.
ALTER TABLE offer_health ADD COLUMN certificates_warned TEXT NOT NULL DEFAULT '';

-- check_rollups: one row per offer and hour (hour: the hour's start, Unix
-- microseconds) with its checks, the healthy ones, the ones that count
-- toward health (all but blocked and refused), and the worst verdict by
-- worst_rank (store.VerdictRank). check_durations: the same hours' chain
-- times as a histogram, n checks whose duration is at most le_ms (and more
-- than the next smaller bucket's). Retention prunes checks by count; these
-- keep the history of the last 30 days whatever it prunes, and are
-- themselves pruned after 31 days.
CREATE TABLE check_rollups (
    offer_id BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    checks INTEGER NOT NULL,
    healthy INTEGER NOT NULL,
    counted INTEGER NOT NULL,
    worst_rank INTEGER NOT NULL,
    worst_verdict TEXT NOT NULL,
    PRIMARY KEY (offer_id, hour)
);
CREATE INDEX check_rollups_hour ON check_rollups (hour);
CREATE TABLE check_durations (
    offer_id BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    le_ms BIGINT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (offer_id, hour, le_ms)
);
CREATE INDEX check_durations_hour ON check_durations (hour);

-- The checks already recorded start the history. The CASEs are
-- store.VerdictRank and store.DurationBucket in SQL.
INSERT INTO check_rollups (offer_id, hour, checks, healthy, counted, worst_rank, worst_verdict)
SELECT offer_id, hour, COUNT(*), SUM(healthy), SUM(counted), MAX(worst_rank),
    CASE MAX(worst_rank) WHEN 0 THEN 'healthy' WHEN 1 THEN 'blocked' WHEN 2 THEN 'refused' WHEN 3 THEN 'slow'
        WHEN 4 THEN 'too_many_hops' WHEN 5 THEN 'content_mismatch' WHEN 6 THEN 'unexpected_landing'
        WHEN 7 THEN 'soft_404' WHEN 8 THEN 'offer_expired' WHEN 9 THEN 'parked_domain' WHEN 10 THEN 'timeout'
        WHEN 11 THEN 'loop' ELSE 'broken' END
FROM (SELECT offer_id, started_at - started_at % 3600000000 AS hour,
        CASE WHEN verdict = 'healthy' THEN 1 ELSE 0 END AS healthy,
        CASE WHEN verdict IN ('blocked', 'refused') THEN 0 ELSE 1 END AS counted,
        CASE verdict WHEN 'healthy' THEN 0 WHEN 'blocked' THEN 1 WHEN 'refused' THEN 2 WHEN 'slow' THEN 3
            WHEN 'too_many_hops' THEN 4 WHEN 'content_mismatch' THEN 5 WHEN 'unexpected_landing' THEN 6
            WHEN 'soft_404' THEN 7 WHEN 'offer_expired' THEN 8 WHEN 'parked_domain' THEN 9 WHEN 'timeout' THEN 10
            WHEN 'loop' THEN 11 ELSE 12 END AS worst_rank
    FROM checks) c
GROUP BY offer_id, hour;

INSERT INTO check_durations (offer_id, hour, le_ms, n)
SELECT offer_id, hour, le_ms, COUNT(*)
FROM (SELECT offer_id, started_at - started_at % 3600000000 AS hour,
        CASE WHEN duration_ms <= 10 THEN 10 WHEN duration_ms <= 20 THEN 20 WHEN duration_ms <= 30 THEN 30
            WHEN duration_ms <= 50 THEN 50 WHEN duration_ms <= 75 THEN 75 WHEN duration_ms <= 100 THEN 100
            WHEN duration_ms <= 150 THEN 150 WHEN duration_ms <= 200 THEN 200 WHEN duration_ms <= 250 THEN 250
            WHEN duration_ms <= 300 THEN 300 WHEN duration_ms <= 400 THEN 400 WHEN duration_ms <= 500 THEN 500
            WHEN duration_ms <= 600 THEN 600 WHEN duration_ms <= 750 THEN 750 WHEN duration_ms <= 1000 THEN 1000
            WHEN duration_ms <= 1250 THEN 1250 WHEN duration_ms <= 1500 THEN 1500 WHEN duration_ms <= 2000 THEN 2000
            WHEN duration_ms <= 2500 THEN 2500 WHEN duration_ms <= 3000 THEN 3000 WHEN duration_ms <= 4000 THEN 4000
            WHEN duration_ms <= 5000 THEN 5000 WHEN duration_ms <= 6000 THEN 6000 WHEN duration_ms <= 7500 THEN 7500
            WHEN duration_ms <= 10000 THEN 10000 WHEN duration_ms <= 12500 THEN 12500 WHEN duration_ms <= 15000 THEN 15000
            WHEN duration_ms <= 20000 THEN 20000 WHEN duration_ms <= 25000 THEN 25000 WHEN duration_ms <= 30000 THEN 30000
            WHEN duration_ms <= 45000 THEN 45000 WHEN duration_ms <= 60000 THEN 60000 ELSE duration_ms END AS le_ms
    FROM checks) c
GROUP BY offer_id, hour, le_ms;
