-- Issue 15: payload filters, per-endpoint delivery policy, a richer catalog.

-- The filter as the tenant wrote it (MongoDB-style operators, shown back as written), and
-- the same filter compiled once, when the endpoint is written, into an SQL/JSON path
-- predicate (src/api/payloadFilter.ts): the publish statement evaluates it with
-- jsonb_path_match inside its fan-out, so a filter costs no per-event JavaScript and no
-- extra statement. Both NULL: no filter.
ALTER TABLE endpoints ADD COLUMN filter jsonb;
ALTER TABLE endpoints ADD COLUMN filter_path jsonpath;
-- The publish parses an event's payload to jsonb only when its tenant has a filtered
-- endpoint: this partial index answers that per event with one small probe.
CREATE INDEX endpoints_filtered ON endpoints (tenant_id) WHERE filter_path IS NOT NULL;

-- Per-endpoint policy; NULL: the deployment's (TIDINGS_REQUEST_TIMEOUT_MS, TIDINGS_RETRY_SCHEDULE).
-- retry_schedule holds the delay after attempt 1, 2, … in milliseconds.
ALTER TABLE endpoints ADD COLUMN timeout_ms integer;
ALTER TABLE endpoints ADD COLUMN retry_schedule integer[];

-- Catalog: example payloads (a JSON array) and a deprecation reason (NULL: not deprecated).
ALTER TABLE event_types ADD COLUMN examples json;
ALTER TABLE event_types ADD COLUMN deprecated_reason text;
