-- Observability (issue 19).

-- The W3C trace context (traceparent) of the span that published the event, when tracing is
-- on: each attempt's span links to it, even in another process. NULL when not traced.
ALTER TABLE events ADD COLUMN trace_context text;

-- /metrics counts disabled endpoints at every scrape: a partial index keeps that a small
-- index-only count however many endpoints there are (see store/metricsQueries.ts).
CREATE INDEX endpoints_disabled ON endpoints (id) WHERE disabled;
