// Circuit breaker, rate limit and in-flight cap at the store level, with explicit times: the
// claim and the ack are the whole mechanism, so they are checked directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { circuitSettings } from '../../src/delivery/circuit.js';
import { circuitOpen } from '../../src/store/claimPlan.js';
import { DEFAULT_CIRCUIT } from '../../src/store/deliveries/types.js';
import { getEndpoint, updateEndpoint } from '../../src/store/endpoints.js';
import { plainCodec } from '../../src/store/secrets.js';
import { engines } from '../helpers/engines.js';
import { at, type Kit, kit } from '../helpers/kit.js';

describe.each(engines())('circuit breaker and rate limit in the store (%s)', (engine) => {
  let k: Kit;
  beforeAll(async () => {
    k = await kit(engine);
    await k.tenant('t');
  });
  afterAll(() => k?.drop());

  const only =
    (id: string) =>
    <T extends { endpoint_id: string }>(ds: T[]) =>
      ds.filter((d) => d.endpoint_id === id);
  const health = async (id: string) => (await getEndpoint(k.q, plainCodec, 't', id))!.health;

  it('opens after consecutive failures, then sends one spaced probe at a time until one succeeds', async () => {
    await k.endpoint('t', 'ep_c', { max_in_flight: 10 });
    await k.publish('t', 12, { when: at(0) });
    const c = only('ep_c');
    const firstWave = c(await k.claim(at(0)));
    expect(firstWave).toHaveLength(10);
    await k.ack(firstWave, at(1), () => ({ ok: false, retryAt: at(1_000) }));
    const h = await health('ep_c');
    expect(h.consecutive_failures).toBe(10);
    expect(circuitOpen(h.consecutive_failures)).toBe(true);

    // Twelve deliveries are due, but the circuit is open: nothing before the probe time
    // (5 s: the first wait after opening)...
    expect(c(await k.claim(at(2_000)))).toHaveLength(0);
    expect(c(await k.claim(at(5_000)))).toHaveLength(0);
    // ...then exactly one probe, and no second one while it is in flight.
    const probe = c(await k.claim(at(5_002)));
    expect(probe).toHaveLength(1);
    expect(c(await k.claim(at(5_003)))).toHaveLength(0);
    expect(c(await k.claim(at(80_000)))).toHaveLength(0);

    // The probe fails: the next one waits again (a quarter of the time failing, at least 5 s).
    await k.ack(probe, at(6_000), () => ({ ok: false, retryAt: at(7_000) }));
    expect(c(await k.claim(at(10_999)))).toHaveLength(0);
    const probe2 = c(await k.claim(at(11_001)));
    expect(probe2).toHaveLength(1);

    // It succeeds: the circuit closes and the waiting deliveries flow, up to the cap.
    await k.ack(probe2, at(11_100), () => ({ ok: true }));
    expect((await health('ep_c')).consecutive_failures).toBe(0);
    const flowing = c(await k.claim(at(11_101)));
    expect(flowing).toHaveLength(10);
    await k.ack(flowing, at(11_200), () => ({ ok: true }));
    expect(c(await k.claim(at(11_201)))).toHaveLength(1);
  });

  it('spaces an open circuit’s probes by how long the endpoint has been failing, up to 5 minutes', async () => {
    await k.endpoint('t', 'ep_long', { max_in_flight: 5 });
    await k.publish('t', 3, { when: at(0) });
    const c = only('ep_long');
    // Already failing for an hour with the circuit open.
    await k.q.query(
      `UPDATE endpoint_state SET consecutive_failures = 40, failing_since = $2 WHERE endpoint_id = $1`,
      ['ep_long', at(0)],
    );
    const probe = c(await k.claim(at(3_600_000)));
    expect(probe).toHaveLength(1);
    await k.ack(probe, at(3_600_000), () => ({ ok: false, retryAt: at(3_600_100) }));
    const s = await k.q.query<{ probe_after: Date }>(
      'SELECT probe_after FROM endpoint_state WHERE endpoint_id = $1',
      ['ep_long'],
    );
    expect(s[0]!.probe_after).toEqual(at(3_600_000 + 300_000));
    expect(c(await k.claim(at(3_600_000 + 299_999)))).toHaveLength(0);
    expect(c(await k.claim(at(3_600_000 + 300_000)))).toHaveLength(1);
  });

  it('keeps a rate limit: bursts of one second’s worth, then one every 1/rate seconds', async () => {
    await k.endpoint('t', 'ep_r', { max_in_flight: 100, rate_limit_per_s: 2 });
    await k.publish('t', 10, { when: at(0) });
    const c = only('ep_r');
    const base = 1_000_000;
    expect(c(await k.claim(at(base)))).toHaveLength(2);
    expect(c(await k.claim(at(base)))).toHaveLength(0);
    // The claim does not look again before the next request may start.
    const due = await k.q.query<{ next_due_at: Date }>(
      'SELECT min(due_at) AS next_due_at FROM endpoint_turns WHERE endpoint_id = $1',
      ['ep_r'],
    );
    expect(due[0]!.next_due_at).toEqual(at(base + 500));
    expect(c(await k.claim(at(base + 499)))).toHaveLength(0);
    expect(c(await k.claim(at(base + 500)))).toHaveLength(1);
    expect(c(await k.claim(at(base + 1_500)))).toHaveLength(2);
    // Over 3 s: 2 + 2 × 3 at most.
    let total = 5;
    for (let ms = 1_600; ms <= 3_000; ms += 100) total += c(await k.claim(at(base + ms))).length;
    expect(total).toBe(8);
  });

  it('takes a disabled endpoint out of the claim queue; re-enabling puts its waiting events back', async () => {
    await k.endpoint('t', 'ep_d', { disabled: true });
    await k.publish('t', 3, { when: at(0) });
    const c = only('ep_d');
    expect(c(await k.claim(at(2_000_000)))).toHaveLength(0);
    const s = await k.q.query<{ next_due_at: Date | null }>(
      'SELECT min(due_at) AS next_due_at FROM endpoint_turns WHERE endpoint_id = $1',
      ['ep_d'],
    );
    expect(s[0]!.next_due_at).toBeNull();
    await k.t.db.tx((q) => updateEndpoint(q, plainCodec, 't', 'ep_d', { disabled: false }, at(2_000_001)));
    expect(c(await k.claim(at(2_000_002)))).toHaveLength(3);
  });

  it('disables an endpoint that answers 410 Gone and keeps a notice for the operator', async () => {
    await k.endpoint('t', 'ep_gone');
    await k.publish('t', 1, { when: at(0) });
    const got = only('ep_gone')(await k.claim(at(3_000_000)));
    await k.ack(got, at(3_000_001), () => ({ ok: false, status: 410 }));
    const e = await getEndpoint(k.q, plainCodec, 't', 'ep_gone');
    expect(e).toMatchObject({ disabled: true, disabled_reason: 'the endpoint answered 410 Gone' });
    const s = await k.q.query<{ auto_disabled_at: Date }>(
      'SELECT auto_disabled_at FROM endpoint_state WHERE endpoint_id = $1',
      ['ep_gone'],
    );
    expect(s[0]!.auto_disabled_at).toEqual(at(3_000_001));
  });
});

describe('circuit defaults', () => {
  it("the store's default circuit is the one the default retry schedule gives (one fact, two places held equal)", () => {
    expect(DEFAULT_CIRCUIT).toEqual(circuitSettings(loadConfig({}).retryScheduleMs));
  });
});
