-- Retention of the endpoint statistics (TIDINGS_STATS_RETENTION_DAYS): the oldest hours are
-- found by time, across endpoints, a few hundred rows per batch (store/retention.ts). The
-- rollup's upsert changes counters only, never the hour, so its updates stay HOT.
CREATE INDEX endpoint_stats_hourly_hour ON endpoint_stats_hourly (hour);
