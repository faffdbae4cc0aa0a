// Bounds on what a tenant may write: the numbers the engine computes with, the sizes the
// store keeps. The API's schemas quote them and migration 007 holds the numeric ones as
// CHECK constraints too, so a value the engine cannot compute with never reaches it.

/**
 * Slowest rate limit an endpoint may have, in requests per second: one request every 100 s
 * (864 a day). Slower than that, a receiver could not keep up with even a quiet tenant's
 * traffic and its backlog would only grow; and the emission interval (1000 / rate ms) stays
 * far inside the date range (below about 1.2e-13 it overflows it: issue 13).
 */
export const RATE_LIMIT_MIN_PER_S = 0.01;
/**
 * Fastest rate limit: above what one worker process sends (a few thousand a second, see
 * docs/scaling.md), so a limit this high is as good as none; the burst (one second's
 * worth) stays a small integer.
 */
export const RATE_LIMIT_MAX_PER_S = 100_000;

/** Requests one endpoint may have in flight; the claim counts them per endpoint. */
export const MAX_IN_FLIGHT_MAX = 1000;
