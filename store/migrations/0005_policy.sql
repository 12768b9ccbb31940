-- 0005_policy: checks on a schedule, safe holds and observe mode.

-- offers.check_every_seconds: the offer is checked at least this often
-- whether or not clicks arrive (0 = only when clicks arrive).
-- offers.next_check_at: when the scheduler next enqueues the offer's check
-- (NULL: none due, e.g. disabled or checked only on clicks). Its index is
-- what lets the scheduler find due offers without reading every offer.
ALTER TABLE offers ADD COLUMN check_every_seconds INTEGER NOT NULL DEFAULT 3600;
ALTER TABLE offers ADD COLUMN next_check_at BIGINT;
CREATE INDEX offers_next_check_at ON offers (next_check_at);
UPDATE offers SET next_check_at = COALESCE((SELECT c.last_check_at FROM offer_counters c WHERE c.offer_id = offers.id), 0) + 3600000000
    WHERE enabled;

-- Offers that existed before policy modes keep acting: their policy gets
-- "mode":"act" (new offers start in observe mode). Their hold status
-- defaults to "disabled" from now on.
UPDATE offers SET policy = CASE WHEN policy = '{}' THEN '{"mode":"act"}' ELSE '{"mode":"act",' || substr(policy, 2) END
    WHERE policy LIKE '{%';

-- offer_health: state 'paused_by_urltracker' becomes 'held'. hold_status is
-- the campaign status urltracker set ('paused' for every hold made before
-- this migration), so that a resume is sent only while the campaign still
-- shows it; hold_observed marks a hold observe mode only recorded; held_at
-- is when the hold was decided. redirect is where the offer link's first
-- hop pointed with a permanent redirect on the last counted check, and
-- proposed_destination the last target proposed, so that one move is
-- proposed once.
ALTER TABLE offer_health ADD COLUMN hold_status TEXT NOT NULL DEFAULT '';
ALTER TABLE offer_health ADD COLUMN hold_observed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE offer_health ADD COLUMN held_at BIGINT;
ALTER TABLE offer_health ADD COLUMN redirect TEXT NOT NULL DEFAULT '';
ALTER TABLE offer_health ADD COLUMN proposed_destination TEXT NOT NULL DEFAULT '';
UPDATE offer_health SET state = 'held', hold_status = 'paused', held_at = updated_at WHERE state = 'paused_by_urltracker';

-- checks.confirmed_by: the check that re-checked this failing one and
-- confirmed it (NULL: not confirmed, or no confirmation asked).
ALTER TABLE checks ADD COLUMN confirmed_by BIGINT;

-- actions: verified_after_ms is how long until Trackier's own read showed
-- a change; reason says why the action was decided; destination is the
-- permanent redirect target a set_destination follows; approved_at is when
-- an admin approved a proposal (outcome awaiting_approval).
ALTER TABLE actions ADD COLUMN verified_after_ms BIGINT;
ALTER TABLE actions ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN destination TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN approved_at BIGINT;
