// A flooded tenant does not hold back a fresh event of another: the claim takes turns across
// endpoints, so the order of claims shows B's delivery among the first, not after A's backlog.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/engines.js';
import { at, type Kit, kit } from '../helpers/kit.js';

describe.each(engines())('backlog fairness (%s)', (engine) => {
  let k: Kit;
  beforeAll(async () => {
    k = await kit(engine);
    await k.tenant('a');
    await k.tenant('b');
    // Tenant A: 40 endpoints with a high in-flight cap, so that only the claim's turn-taking
    // (not the cap) can keep them from taking every slot.
    for (let i = 0; i < 40; i++)
      await k.endpoint('a', `ep_a${String(i).padStart(2, '0')}`, { max_in_flight: 1000 });
    await k.endpoint('b', 'ep_b', { max_in_flight: 1000 });
  }, 120_000);
  afterAll(() => k?.drop());

  it('claims tenant B’s one delivery within the first claims after 20,000 queued for tenant A', async () => {
    await k.publish('a', 500, { when: at(0) }).then(() => undefined);
    // 500 events × 40 endpoints = 20,000 deliveries for A, all due since T0.
    const backlog = await k.q.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = 'a'",
    );
    expect(backlog[0]!.n).toBe(20_000);
    // A's backlog is already being worked on when B publishes.
    const early = await k.claim(at(500), { limit: 100, endpoints: 32 });
    expect(early.every((d) => d.tenant_id === 'a')).toBe(true);
    const [bEvent] = await k.publish('b', 1, { when: at(1_000) });

    // Deliveries claimed by earlier claims than the one that takes B's (one claim is one
    // transaction: the deliveries in it start together).
    let before = 0;
    let claimIndex = 0;
    let found = false;
    while (!found && claimIndex < 20) {
      claimIndex += 1;
      const got = await k.claim(at(2_000 + claimIndex), { limit: 100, endpoints: 32 });
      const b = got.find((d) => d.tenant_id === 'b');
      if (b) {
        expect(b.event_id).toBe(bEvent);
        found = true;
      } else {
        before += got.length;
      }
    }
    expect(found).toBe(true);
    console.log(
      `[fairness ${engine}] B claimed in claim #${claimIndex} after B's publish, behind ${before} of A's 20,000`,
    );
    // Every A endpoint gets at most one turn before B: B is in the first claims, and ahead
    // of all but a sliver of the 20,000 (a FIFO queue would put it last).
    expect(claimIndex).toBeLessThanOrEqual(2);
    expect(before).toBeLessThan(200);
  });
});
