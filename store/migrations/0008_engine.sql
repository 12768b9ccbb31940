-- 0008_engine: the engine a check of the offer runs with: 'http' (the
-- tracer with its JavaScript interpreter) or 'browser' (a headless
-- Chromium, opt-in).
ALTER TABLE offers ADD COLUMN engine TEXT NOT NULL DEFAULT 'http';
