// How many deliveries one endpoint may start in this claim, and when the claim should look
// at it next. Pure arithmetic over the endpoint's locked state row, kept apart from the SQL
// so that each rule can be read (and tested) on its own:
// - disabled: nothing, and the endpoint leaves the claim's queue until it is re-enabled;
// - circuit open (consecutive failures >= threshold): one probe at a time, not before
//   probe_after; everything else of the endpoint waits;
// - max_in_flight: never more requests in flight than that;
// - rate_limit_per_s: GCRA (a token bucket kept as one timestamp): on average at most that
//   many request starts per second, in bursts of at most one second's worth.

/** Consecutive failed attempts that open an endpoint's circuit. */
export const CIRCUIT_OPEN_AFTER = 5;

export interface EndpointTurnRow {
  endpoint_id: string;
  disabled: boolean;
  max_in_flight: number;
  rate_limit_per_s: number | null;
  rate_tat: Date | null;
  consecutive_failures: number;
  probe_after: Date | null;
  in_flight: number;
}

export interface TurnContext {
  now: Date;
  leaseUntil: Date;
  perEndpoint: number;
  circuitOpenAfter: number;
}

export function circuitOpen(consecutiveFailures: number, openAfter = CIRCUIT_OPEN_AFTER): boolean {
  return consecutiveFailures >= openAfter;
}

interface Gcra {
  /** Emission interval (ms between requests on average). */
  t: number;
  /** Burst tolerance (ms). */
  tau: number;
  /** The theoretical arrival time, never before now. */
  tat: number;
}

function gcra(rate: number, tat: Date | null, now: number): Gcra {
  const t = 1000 / rate;
  const burst = Math.max(1, Math.floor(rate));
  return { t, tau: (burst - 1) * t, tat: Math.max(tat?.getTime() ?? now, now) };
}

/** Requests the rate limit lets start now. */
function rateAllowance(g: Gcra, now: number): number {
  if (g.tat - now > g.tau) return 0;
  return Math.floor((now + g.tau - g.tat) / g.t) + 1;
}

/** How many deliveries of this endpoint the claim may take now. */
export function turnCapacity(r: EndpointTurnRow, c: TurnContext): number {
  if (r.disabled) return 0;
  const now = c.now.getTime();
  let capacity: number;
  if (circuitOpen(r.consecutive_failures, c.circuitOpenAfter)) {
    const probeDue = r.probe_after === null || r.probe_after.getTime() <= now;
    capacity = r.in_flight === 0 && probeDue ? 1 : 0;
  } else {
    capacity = Math.max(0, Math.min(c.perEndpoint, r.max_in_flight - r.in_flight));
  }
  if (capacity > 0 && r.rate_limit_per_s !== null) {
    capacity = Math.min(capacity, rateAllowance(gcra(r.rate_limit_per_s, r.rate_tat, now), now));
  }
  return capacity;
}

export interface TurnEnd {
  /** Leave the claim's queue (disabled). */
  clear: boolean;
  /**
   * The endpoint had room but the claim's overall limit ran out before its turn: it keeps
   * its place in the queue instead of going to the back.
   */
  keepPlace: boolean;
  /** Earliest time the claim should look again (the due time of its work bounds it too). */
  notBefore: Date;
  rateTat: Date | null;
  probeAfter: Date | null;
}

/** What to write back after `claimed` deliveries of the endpoint were taken. */
export function endTurn(r: EndpointTurnRow, capacity: number, claimed: number, c: TurnContext): TurnEnd {
  const now = c.now.getTime();
  let notBefore = now;
  let rateTat: Date | null = null;
  let probeAfter: Date | null = null;
  if (circuitOpen(r.consecutive_failures, c.circuitOpenAfter)) {
    if (claimed > 0) {
      // The probe holds the circuit until its ack (or its lease runs out).
      probeAfter = c.leaseUntil;
      notBefore = c.leaseUntil.getTime();
    } else if (r.probe_after !== null) {
      notBefore = Math.max(now, r.probe_after.getTime());
    }
  }
  if (r.rate_limit_per_s !== null) {
    const g = gcra(r.rate_limit_per_s, r.rate_tat, now);
    const tat = g.tat + claimed * g.t;
    if (claimed > 0) rateTat = new Date(tat);
    notBefore = Math.max(notBefore, tat - g.tau);
  }
  return {
    clear: r.disabled,
    keepPlace: capacity > 0 && claimed === 0,
    notBefore: new Date(notBefore),
    rateTat,
    probeAfter,
  };
}
