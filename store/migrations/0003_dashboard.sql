-- 0003_dashboard: state the dashboard shares across instances and restarts.

-- settings: named values created once and then read by every instance, such
-- as the key that signs dashboard session cookies (so sessions survive a
-- restart and work behind a load balancer). The first instance to store a
-- name wins; values are never logged.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
