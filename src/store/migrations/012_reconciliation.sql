-- Proof and reconciliation (issue 14): gap lookup by endpoint sequence, the operator's notice
-- of a delivery that gave up, and the endpoint defaults a catalog sets.

-- GET …/endpoints/{eid}/deliveries?sequence=N: a receiver that saw 57 and 59 asks for 58.
-- Every attempt carries its delivery's webhook-endpoint-sequence (given at the first claim and
-- kept for the delivery's life); this index finds the attempts of number N, of every endpoint
-- (each endpoint counts from 1), and the join to deliveries keeps the one of this endpoint.
-- It is one more entry per attempt written by the ack (measured in docs/scaling.md); deliveries
-- is left alone, so the ack's update of it stays HOT.
CREATE INDEX attempts_endpoint_sequence ON attempts (endpoint_sequence) WHERE endpoint_sequence IS NOT NULL;

-- tidings.delivery.failed: the ack that gives a delivery up writes a row here in the same
-- statement (no row, and so no cost, for a delivery that succeeds or retries); the worker
-- then publishes the operator events for the rows and removes them in one transaction, and
-- the health sweep does the same for rows a worker that died left behind. Exactly once.
CREATE TABLE delivery_failures (
  delivery_id bigint PRIMARY KEY,
  tenant_id text NOT NULL,
  endpoint_id text NOT NULL,
  failed_at timestamptz NOT NULL
);

-- A catalog file's "endpoint_defaults" ({"profile", "locked"}): used when an endpoint is
-- created without a profile, and, when locked, the only profile a tenant may choose. One row
-- per catalog that sets them; loading the catalog again without them removes its row.
CREATE TABLE catalog_endpoint_defaults (
  catalog text PRIMARY KEY,
  profile text NOT NULL,
  locked boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
