-- 0006_write_probe: what readiness writes, and an index the status endpoint
-- needs.

-- write_probe: one row that /readyz updates, so that an instance whose
-- database answers reads but refuses writes (full disk, read-only file or
-- mount) is taken out of the load balancer instead of answering every
-- webhook 503 while reporting ready.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL,
    instance TEXT NOT NULL
);
INSERT INTO write_probe (id, at, instance) VALUES (1, 0, '');

-- offers_enabled: the status endpoint and the dashboard count enabled offers
-- on every call; without this index the count reads every offer.
CREATE INDEX offers_enabled ON offers (enabled);
