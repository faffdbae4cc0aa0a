-- Lists that find things, bulk replay, endpoint statistics (issue 15). Plans and figures in
-- docs/scaling.md ("Lists", "Endpoint statistics").

-- The event list filtered by one type walks this index newest first (tenant, type, seq): a
-- rare type no longer means reading the tenant's whole history. One btree entry per event
-- (not per delivery); the deliveries and attempts lists add no index to their hot tables.
CREATE INDEX events_tenant_type_seq ON events (tenant_id, type, seq DESC);

-- Given-up queue rows in (created_at, delivery_id) order per endpoint: a replay batch reads
-- the next few hundred from its cursor instead of sorting all of an endpoint's failed rows
-- (each batch did: quadratic over a large replay). It replaces delivery_queue_failed, whose
-- (endpoint_id, created_at) prefix recover still uses; like it, it holds failed rows only, so
-- only a give-up and a replay write it.
CREATE INDEX delivery_queue_failed_order ON delivery_queue (endpoint_id, created_at, delivery_id) WHERE state = 'failed';
DROP INDEX delivery_queue_failed;

-- Endpoint statistics: one row per endpoint and hour, built off the hot path by a maintenance
-- job from the attempts recorded since its watermark (store/endpointStats.ts). The ack does
-- not write here. latency_hist counts attempts per fixed latency bucket (log-spaced bounds
-- in endpointStats.ts); percentiles come from summed histograms, a day is the sum of its hours.
CREATE TABLE endpoint_stats_hourly (
  endpoint_id text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
  hour timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  attempts_succeeded integer NOT NULL DEFAULT 0,
  first_attempts integer NOT NULL DEFAULT 0,
  first_attempts_succeeded integer NOT NULL DEFAULT 0,
  -- Deliveries that reached a final state with an attempt of this hour.
  delivered integer NOT NULL DEFAULT 0,
  gave_up integer NOT NULL DEFAULT 0,
  latency_hist integer[] NOT NULL,
  latency_max_ms integer NOT NULL DEFAULT 0,
  -- Sampled by the same job: time the endpoint was disabled, or its circuit open.
  disabled_ms bigint NOT NULL DEFAULT 0,
  circuit_open_ms bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (endpoint_id, hour)
);

-- The job's progress: attempts are rolled up through attempts_through (exclusive), endpoint
-- state was last sampled at sampled_at. One row; the job holds its lock while it runs, so
-- two workers never count the same attempts twice.
CREATE TABLE endpoint_stats_watermark (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  attempts_through timestamptz,
  sampled_at timestamptz
);
INSERT INTO endpoint_stats_watermark (id) VALUES (true);
