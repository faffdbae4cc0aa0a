-- Tidings schema, version 7: hostile tenants (issue 13). Bounds the store holds itself,
-- parked endpoints (fault isolation) and per-tenant usage counters (quotas).

-- Bounds on the numbers a tenant writes on an endpoint, the same as the API's schema
-- (src/api/routes/endpoints.ts), so that a row written around the API cannot hold a value
-- the claim cannot compute with (issue 13: a rate of 1e-14 overflowed the date arithmetic
-- and aborted every claim). Rows out of range are brought in first, so this migration
-- cannot fail on old data:
-- - a rate below the minimum becomes the minimum (the slowest the tenant can have: closest
--   to what it asked for); above the maximum, NaN or infinite becomes NULL (no limit: the
--   maximum is above what a worker sends anyway);
-- - max_in_flight is clamped into 1..1000.
UPDATE endpoints SET rate_limit_per_s = CASE
    WHEN rate_limit_per_s < 0.01 THEN 0.01
    ELSE NULL END
  -- NaN compares greater than every number in PostgreSQL, so it is caught by "> 100000".
  WHERE rate_limit_per_s < 0.01 OR rate_limit_per_s > 100000;
UPDATE endpoints SET max_in_flight = least(1000, greatest(1, max_in_flight))
  WHERE max_in_flight < 1 OR max_in_flight > 1000;
ALTER TABLE endpoints
  ADD CONSTRAINT endpoints_rate_limit_range
    CHECK (rate_limit_per_s IS NULL OR (rate_limit_per_s >= 0.01 AND rate_limit_per_s <= 100000)),
  ADD CONSTRAINT endpoints_max_in_flight_range CHECK (max_in_flight BETWEEN 1 AND 1000);

-- Parked endpoints (faulted_at, fault: migration 006): the operator is told once per parking
-- (tidings.endpoint.faulted); fault_notified_at says it has been. See src/store/faults.ts.
ALTER TABLE endpoint_state ADD COLUMN fault_notified_at timestamptz;
-- /readyz counts parked endpoints and the health sweep finds the ones owed a notice here;
-- it holds only the parked rows, so it stays small.
CREATE INDEX endpoint_state_faulted ON endpoint_state (endpoint_id) WHERE faulted_at IS NOT NULL;

-- How many of a kind of object each tenant has, for quotas whose count would cost a scan of
-- many rows on every write (reminder rules: one per account with Canopy's notification_config;
-- anchors: one per account and cycle). Kept in the transaction that creates or deletes the
-- object; its row lock is taken last in that transaction, so it is held only until commit.
-- Small counts (endpoints, tokens, portal sessions) are counted directly instead.
CREATE TABLE tenant_usage (
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind text NOT NULL,
  used bigint NOT NULL,
  PRIMARY KEY (tenant_id, kind)
);
INSERT INTO tenant_usage (tenant_id, kind, used)
  SELECT tenant_id, 'reminder_rules', count(*) FROM reminder_rules GROUP BY tenant_id;
INSERT INTO tenant_usage (tenant_id, kind, used)
  SELECT tenant_id, 'anchors', count(*) FROM reminder_anchors GROUP BY tenant_id;
