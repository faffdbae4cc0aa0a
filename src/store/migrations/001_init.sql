-- Tidings schema, version 1: the core pipeline.
-- Identifiers that reach the API are text (prefixed, sortable); rows that the worker
-- touches at high rate (events, deliveries, attempts) also carry a bigint key so that
-- claims, acks and joins work on 8-byte values.

CREATE TABLE meta (
  key text PRIMARY KEY,
  value text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE event_types (
  name text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  group_name text,
  schema json,
  default_enabled boolean NOT NULL DEFAULT true,
  -- Reminder settings for scheduled event types (which offset forms are allowed); see 003.
  reminder json,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
  id text PRIMARY KEY,
  name text NOT NULL,
  metadata json NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE endpoints (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  url text NOT NULL,
  description text NOT NULL DEFAULT '',
  -- NULL: every default-enabled type. Otherwise exact names or "topic.*" patterns.
  event_types text[],
  -- NULL: events on any channel. Otherwise events tagged with at least one of these.
  channels text[],
  profile text NOT NULL DEFAULT 'standard',
  -- Secrets are stored as written by the store's secret box (plain until encryption lands).
  secret text NOT NULL,
  headers text,
  disabled boolean NOT NULL DEFAULT false,
  disabled_reason text,
  disabled_at timestamptz,
  metadata json NOT NULL DEFAULT '{}',
  max_in_flight integer NOT NULL DEFAULT 10,
  rate_limit_per_s double precision,
  ordering text NOT NULL DEFAULT 'none',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_tenant ON endpoints (tenant_id, id);

-- The hot, often-written part of an endpoint, kept apart from its configuration row.
-- next_due_at is when the claim should next look at this endpoint: the earliest
-- next_attempt_at of its pending deliveries, moved to "now" after every claim that
-- leaves work behind, so that busy endpoints take turns (round-robin by virtual time).
CREATE TABLE endpoint_state (
  endpoint_id text PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
  next_due_at timestamptz,
  consecutive_failures integer NOT NULL DEFAULT 0,
  last_success_at timestamptz,
  last_failure_at timestamptz,
  failing_since timestamptz,
  last_claimed_at timestamptz
);
CREATE INDEX endpoint_state_due ON endpoint_state (next_due_at) WHERE next_due_at IS NOT NULL;

CREATE TABLE events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id text NOT NULL,
  type text NOT NULL,
  -- json, not jsonb: the payload's text (and so its key order) is kept exactly as published.
  payload json NOT NULL,
  channels text[] NOT NULL DEFAULT '{}',
  ordering_key text,
  idempotency_key text,
  -- sha256 of the canonical request, to tell a true repeat from a conflicting reuse of an id.
  request_hash text NOT NULL,
  source text NOT NULL DEFAULT 'api',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_tenant_id ON events (tenant_id, id);
CREATE UNIQUE INDEX events_tenant_idem ON events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_tenant_seq ON events (tenant_id, seq DESC);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL,
  event_seq bigint NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
  endpoint_id text NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'delivering', 'succeeded', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  locked_until timestamptz,
  locked_by text,
  last_status integer,
  last_error text,
  ordering_key text,
  sequence bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
-- The claim walks one endpoint's due deliveries in time order through this index.
CREATE INDEX deliveries_due ON deliveries (endpoint_id, next_attempt_at, id) WHERE state = 'pending';
-- The reaper finds expired leases here; it is small because few rows are in flight.
CREATE INDEX deliveries_leased ON deliveries (locked_until) WHERE state = 'delivering';
CREATE INDEX deliveries_event ON deliveries (event_seq);
CREATE INDEX deliveries_endpoint_created ON deliveries (endpoint_id, created_at);

CREATE TABLE attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  started_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  url text NOT NULL,
  status integer,
  request_headers json,
  response_headers json,
  response_body text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt);
CREATE INDEX attempts_created ON attempts (created_at);
