-- Tidings schema, version 6: the second-generation delivery engine (issue 12).
--
-- Each stage of the hot path is one statement per batch: publish (events, deliveries, queue
-- rows, turn marks), claim, ack. What changes here, and why (figures in docs/scaling.md):
--
-- 1. A work queue beside the record. `deliveries` keeps one row per (event, endpoint) for
--    as long as the event is kept; it is written at publish and then updated once per
--    attempt, with no index on any column an attempt changes, so that update is HOT.
--    `delivery_queue` holds only the deliveries that still have work: due, in flight (leased),
--    waiting behind the head of an ordering key, or given up (kept so that recover finds
--    them and a given-up ordered head keeps its key blocked). It is small, so its indexes are.
-- 2. A lease is a due time. Claiming a delivery moves its queue row's due_at to the lease's
--    end and names the owner; if the owner dies, the row simply becomes due again at that
--    time and the next claim takes it over. No separate lease index, no reaper scan of it.
-- 3. Turns are marks, not a lock. A publish used to lock and write each endpoint's
--    endpoint_state row so that a racing claim could not lose its wake-up. Now every writer
--    of due work (publish, ack of a retry, requeue, re-enable) inserts a row into
--    endpoint_turns, which no one else has to lock; a claim consumes the due marks of the
--    endpoints it serves. A claim that sees a mark also sees the deliveries committed with it
--    (same transaction), and a mark it does not see survives it. Oldest mark first, and a
--    busy endpoint's new mark goes to the back: round-robin across endpoints, as before.
-- 4. endpoint_state keeps what must be exact across workers, under a short row lock taken by
--    the claim (SKIP LOCKED) and the ack only: requests in flight (a counter, not a count of
--    rows), the circuit, the rate limit, and the per-endpoint sequence counter.
-- 5. No foreign keys on the hot tables (events, deliveries, delivery_queue, attempts): each
--    one made every insert look up and FOR KEY SHARE-lock the parent row (an endpoint row
--    locked by every concurrent publish). Deleting a tenant, an endpoint or an old event
--    removes its rows explicitly (store/tenants.ts, endpoints.ts, retention.ts).

ALTER TABLE events DROP CONSTRAINT events_tenant_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_seq_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_endpoint_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT attempts_delivery_id_fkey;

CREATE TABLE delivery_queue (
  delivery_id bigint PRIMARY KEY,
  endpoint_id text NOT NULL,
  tenant_id text NOT NULL,
  -- pending: will be sent (due_at set), or waits behind its key's head (due_at NULL);
  -- failed: given up, waiting for a resend, a recover or a skip (due_at NULL).
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
  -- When a claim may take it; while leased, the lease's end.
  due_at timestamptz,
  -- The worker holding the lease (NULL: not in flight).
  lease_owner text,
  ordering_key text,
  sequence bigint,
  -- Gap-free number per endpoint, given at the first claim (webhook-endpoint-sequence).
  endpoint_sequence bigint,
  created_at timestamptz NOT NULL
) WITH (
  fillfactor = 70,
  -- Rows live seconds: vacuum after a fixed number of dead rows, not a share of a table
  -- whose size swings between empty and a backlog.
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 2000,
  autovacuum_vacuum_cost_delay = 0
);
-- The claim walks one endpoint's due rows in time order; leases sit in it at their end.
CREATE INDEX delivery_queue_due ON delivery_queue (endpoint_id, due_at, delivery_id) WHERE due_at IS NOT NULL;
-- The head of an ordering key is its first row here (see ordering.ts).
CREATE INDEX delivery_queue_ordering ON delivery_queue (endpoint_id, ordering_key, sequence) WHERE sequence IS NOT NULL;
-- Recover ("queue again every failed delivery of this endpoint in a window").
CREATE INDEX delivery_queue_failed ON delivery_queue (endpoint_id, created_at) WHERE state = 'failed';

CREATE TABLE endpoint_turns (
  endpoint_id text NOT NULL,
  due_at timestamptz NOT NULL
) WITH (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 2000,
  autovacuum_vacuum_cost_delay = 0
);
-- The claim takes the oldest due marks; then every due mark of the endpoints it served.
CREATE INDEX endpoint_turns_due ON endpoint_turns (due_at);
CREATE INDEX endpoint_turns_endpoint ON endpoint_turns (endpoint_id, due_at);

ALTER TABLE endpoint_state
  -- Leased deliveries of the endpoint, by every worker: claim adds, ack and requeue subtract.
  ADD COLUMN in_flight integer NOT NULL DEFAULT 0,
  -- The last webhook-endpoint-sequence handed out.
  ADD COLUMN endpoint_sequence bigint NOT NULL DEFAULT 0,
  -- The end of the latest lease handed out. Once it has passed, every lease of the endpoint
  -- has run out: what in_flight still counts belongs to a worker that died, and the next
  -- claim stops counting it (and takes those deliveries over).
  ADD COLUMN lease_horizon timestamptz,
  -- A claim found due work but no room (in flight at the cap): the next ack that frees room
  -- marks the endpoint due again.
  ADD COLUMN wants_room boolean NOT NULL DEFAULT false,
  -- Parked: something about this endpoint made a claim or an ack fail (a value that cannot be
  -- computed, a secret that cannot be opened). It leaves delivery, with the error kept, until
  -- it is updated; everything else goes on (store/faults.ts).
  ADD COLUMN faulted_at timestamptz,
  ADD COLUMN fault text;
ALTER TABLE endpoint_state SET (fillfactor = 50);

-- Ordered keys count their unfinished deliveries (the given-up head included): a fan-out that
-- finds the count at 0 has the new head; an ack that leaves it above 0 promotes the next.
ALTER TABLE ordering_keys ADD COLUMN unfinished integer NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN endpoint_sequence bigint;

-- Move the work that exists into the queue. Deliveries that were being sent when the old
-- version stopped are due now (at least once: their receiver may see them twice).
UPDATE deliveries SET state = 'pending', next_attempt_at = coalesce(next_attempt_at, locked_until, updated_at)
WHERE state = 'delivering';
INSERT INTO delivery_queue (delivery_id, endpoint_id, tenant_id, state, due_at, ordering_key, sequence, created_at)
SELECT id, endpoint_id, tenant_id, state, CASE WHEN state = 'pending' THEN next_attempt_at END, ordering_key, sequence, created_at
FROM deliveries WHERE state IN ('pending', 'failed');
INSERT INTO endpoint_turns (endpoint_id, due_at)
SELECT endpoint_id, min(due_at) FROM delivery_queue WHERE due_at IS NOT NULL GROUP BY endpoint_id;
UPDATE ordering_keys o SET unfinished = u.n
FROM (SELECT endpoint_id, ordering_key, count(*) AS n FROM delivery_queue WHERE sequence IS NOT NULL
      GROUP BY endpoint_id, ordering_key) u
WHERE o.endpoint_id = u.endpoint_id AND o.key = u.ordering_key;

-- The record no longer carries the lease or the queue's indexes; its per-attempt update is HOT.
DROP INDEX deliveries_due;
DROP INDEX deliveries_leased;
DROP INDEX deliveries_in_flight;
DROP INDEX deliveries_ordering;
DROP INDEX deliveries_failed;
-- The queue says when a delivery is next due (due_at while not leased).
ALTER TABLE deliveries DROP COLUMN locked_until, DROP COLUMN locked_by, DROP COLUMN next_attempt_at;
ALTER TABLE deliveries SET (fillfactor = 70);
DROP INDEX endpoint_state_due;
ALTER TABLE endpoint_state DROP COLUMN next_due_at;

-- A delivery as the API shows it: the record, and while it has work its queue row (state
-- 'delivering' while leased, the next attempt time while waiting). For the API's views and
-- for an operator at a psql prompt; PostgreSQL inlines it, so it costs nothing of its own.
CREATE VIEW delivery_status AS
SELECT d.id, d.tenant_id, d.event_seq, d.endpoint_id,
       CASE WHEN q.lease_owner IS NOT NULL THEN 'delivering' ELSE d.state END AS state,
       d.attempts,
       CASE WHEN q.lease_owner IS NULL THEN q.due_at END AS next_attempt_at,
       q.lease_owner AS locked_by,
       CASE WHEN q.lease_owner IS NOT NULL THEN q.due_at END AS locked_until,
       d.last_status, d.last_error, d.ordering_key, d.sequence, q.endpoint_sequence,
       d.created_at, d.updated_at, d.completed_at
FROM deliveries d LEFT JOIN delivery_queue q ON q.delivery_id = d.id;
