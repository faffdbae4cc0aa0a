// The per-endpoint rules of the claim, as arithmetic.
import { describe, expect, it } from 'vitest';
import { circuitSettings } from '../../src/delivery/circuit.js';
import { type EndpointTurnRow, endTurn, type TurnContext, turnCapacity } from '../../src/store/claimPlan.js';

const now = new Date('2026-05-01T12:00:00Z');
const ctx: TurnContext = {
  now,
  leaseUntil: new Date(now.getTime() + 45_000),
  perEndpoint: 50,
  circuitOpenAfter: 5,
};
const row = (over: Partial<EndpointTurnRow> = {}): EndpointTurnRow => ({
  endpoint_id: 'ep',
  disabled: false,
  max_in_flight: 10,
  rate_limit_per_s: null,
  rate_tat: null,
  consecutive_failures: 0,
  probe_after: null,
  in_flight: 0,
  ...over,
});
const plus = (ms: number) => new Date(now.getTime() + ms);

describe('claim plan', () => {
  it('fills up to max_in_flight and the per-claim share', () => {
    expect(turnCapacity(row(), ctx)).toBe(10);
    expect(turnCapacity(row({ in_flight: 7 }), ctx)).toBe(3);
    expect(turnCapacity(row({ in_flight: 12 }), ctx)).toBe(0);
    expect(turnCapacity(row({ max_in_flight: 500 }), ctx)).toBe(50);
    expect(turnCapacity(row({ disabled: true }), ctx)).toBe(0);
    expect(endTurn(row({ disabled: true }), 0, 0, ctx).clear).toBe(true);
  });

  it('sends one probe at a time through an open circuit, not before its time', () => {
    expect(turnCapacity(row({ consecutive_failures: 4 }), ctx)).toBe(10);
    expect(turnCapacity(row({ consecutive_failures: 5 }), ctx)).toBe(1);
    expect(turnCapacity(row({ consecutive_failures: 5, in_flight: 1 }), ctx)).toBe(0);
    expect(turnCapacity(row({ consecutive_failures: 9, probe_after: plus(1) }), ctx)).toBe(0);
    const probing = endTurn(row({ consecutive_failures: 9 }), 1, 1, ctx);
    expect(probing.probeAfter).toEqual(ctx.leaseUntil);
    const waiting = endTurn(row({ consecutive_failures: 9, probe_after: plus(30_000) }), 0, 0, ctx);
    expect(waiting.notBefore).toEqual(plus(30_000));
  });

  it('limits the rate with bursts of one second’s worth', () => {
    expect(turnCapacity(row({ rate_limit_per_s: 5 }), ctx)).toBe(5);
    const after = endTurn(row({ rate_limit_per_s: 5 }), 5, 5, ctx);
    expect(after.rateTat).toEqual(plus(1000));
    expect(after.notBefore).toEqual(plus(200));
    expect(turnCapacity(row({ rate_limit_per_s: 5, rate_tat: plus(1000) }), ctx)).toBe(0);
    expect(turnCapacity(row({ rate_limit_per_s: 5, rate_tat: plus(800) }), ctx)).toBe(1);
    // Below one per second: one request, then a wait of 1/rate.
    expect(turnCapacity(row({ rate_limit_per_s: 0.5 }), ctx)).toBe(1);
    expect(endTurn(row({ rate_limit_per_s: 0.5 }), 1, 1, ctx).notBefore).toEqual(plus(2000));
    // An idle endpoint does not bank more than one burst.
    expect(turnCapacity(row({ rate_limit_per_s: 5, rate_tat: plus(-3_600_000) }), ctx)).toBe(5);
  });

  it('keeps its place when the claim ran out before its turn', () => {
    expect(endTurn(row(), 10, 0, ctx).keepPlace).toBe(true);
    expect(endTurn(row(), 10, 3, ctx).keepPlace).toBe(false);
    expect(endTurn(row({ in_flight: 10 }), 0, 0, ctx).keepPlace).toBe(false);
  });

  it('spaces probes like retries, five minutes at most', () => {
    expect(circuitSettings([5_000, 300_000, 1_800_000, 7_200_000])).toMatchObject({
      probeMinMs: 5_000,
      probeMaxMs: 300_000,
    });
    expect(circuitSettings([100, 200, 300])).toMatchObject({ probeMinMs: 100, probeMaxMs: 300 });
  });
});
