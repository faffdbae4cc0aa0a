-- Tidings schema, version 2: delivery that survives anything (issue 5).
-- Circuit breaker, rate limit, operator notices, ordering by business key, and the indexes
-- the hot paths (claim, ack, fan-out, retention) rely on. See docs/scaling.md.

-- Per-endpoint delivery control, beside the round-robin turn already kept here.
ALTER TABLE endpoint_state
  -- Circuit breaker: open while consecutive_failures >= the threshold; then one probe at a
  -- time, none before probe_after.
  ADD COLUMN probe_after timestamptz,
  -- Rate limit (GCRA): the theoretical arrival time of the next request.
  ADD COLUMN rate_tat timestamptz,
  -- Operator notices: when the operator was told of the current failing streak, when
  -- Tidings disabled the endpoint by itself, and when the operator was told of that.
  ADD COLUMN failing_notified_at timestamptz,
  ADD COLUMN auto_disabled_at timestamptz,
  ADD COLUMN disabled_notified_at timestamptz;

-- The health sweep looks only at endpoints that are failing or owe a notice.
CREATE INDEX endpoint_state_failing ON endpoint_state (failing_since) WHERE failing_since IS NOT NULL;
CREATE INDEX endpoint_state_notices ON endpoint_state (endpoint_id)
  WHERE failing_notified_at IS NOT NULL OR auto_disabled_at IS NOT NULL;

-- The claim counts each endpoint's requests in flight (max_in_flight, circuit probe): a
-- handful of rows per endpoint, whatever the size of its history.
CREATE INDEX deliveries_in_flight ON deliveries (endpoint_id) WHERE state = 'delivering';

-- Ordering by business key. One row per (endpoint, key) ever used: the last sequence number
-- handed out. Its row lock serialises the publishers and acks of one key (see ordering.ts).
-- On endpoints with ordering 'endpoint' the whole endpoint is one key, the empty string
-- (a publish's ordering_key is never empty).
CREATE TABLE ordering_keys (
  endpoint_id text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
  key text NOT NULL,
  last_sequence bigint NOT NULL,
  PRIMARY KEY (endpoint_id, key)
);

-- The unfinished deliveries of each key in sequence order: the head of a key is the first
-- row here. Failed rows stay in it, because a given-up head keeps its key blocked until it
-- is resent or skipped. Only ordered deliveries (sequence set) are indexed, and only while
-- they matter, so the index stays small however large the table grows.
CREATE INDEX deliveries_ordering ON deliveries (endpoint_id, ordering_key, sequence)
  WHERE sequence IS NOT NULL AND state IN ('pending', 'delivering', 'failed');

-- Recover ("requeue every failed delivery of this endpoint since T") reads only failed rows.
CREATE INDEX deliveries_failed ON deliveries (endpoint_id, created_at) WHERE state = 'failed';
