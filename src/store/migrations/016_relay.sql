-- `tidings listen` (issue 16): relay endpoints, whose deliveries go through a stream that a
-- developer's CLI holds open to one API process instead of an HTTP POST.

-- One row per relay endpoint (endpoints.url = 'relay://<endpoint id>'). `holder` names the API
-- process that holds the stream (NULL while none does); `seen_at` is that holder's last
-- heartbeat, or when the stream closed. A row whose seen_at is older than the expiry
-- (TIDINGS_RELAY_EXPIRY) has its endpoint removed, in case the CLI was killed.
CREATE TABLE relay_listeners (
  endpoint_id text PRIMARY KEY,
  tenant_id text NOT NULL,
  holder text,
  seen_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX relay_listeners_seen ON relay_listeners (seen_at);

-- The hand-off between a worker and the API process holding the stream when they are not the
-- same process (in one process it stays in memory and nothing is written here). The worker
-- writes the signed request (sealed: it may carry static headers) and waits; the holder takes
-- it (taken_at) and pushes it down the stream; whichever API process receives the CLI's report
-- writes it (answered_at). The worker deletes the row when it has the report or gives up.
CREATE TABLE relay_requests (
  id text PRIMARY KEY,
  endpoint_id text NOT NULL,
  message text NOT NULL,
  created_at timestamptz NOT NULL,
  taken_at timestamptz,
  answered_at timestamptz,
  report jsonb
);
CREATE INDEX relay_requests_waiting ON relay_requests (endpoint_id) WHERE taken_at IS NULL;
