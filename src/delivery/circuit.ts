// The circuit breaker's settings for a deployment. The rule itself lives where it is applied:
// the claim (one probe at a time while open, store/claimPlan.ts) and the ack (open after
// CIRCUIT_OPEN_AFTER consecutive failures, close on any success, space the probes,
// store/deliveries.ts).
import { CIRCUIT_OPEN_AFTER } from '../store/claimPlan.js';
import type { CircuitSettings } from '../store/deliveries/types.js';

/** Probes never wait longer than this, however long the outage: recovery is noticed soon. */
const PROBE_CEILING_MS = 5 * 60_000;

/**
 * Probes are spaced like retries: never sooner than the first retry delay, never later than
 * the longest one or five minutes.
 */
export function circuitSettings(retryScheduleMs: number[]): CircuitSettings {
  const min = Math.min(...retryScheduleMs, PROBE_CEILING_MS);
  const max = Math.max(min, Math.min(Math.max(...retryScheduleMs, min), PROBE_CEILING_MS));
  return { openAfter: CIRCUIT_OPEN_AFTER, probeMinMs: min, probeMaxMs: max };
}
