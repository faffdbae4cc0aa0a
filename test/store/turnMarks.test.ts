// A publish batch whose events were stamped a few ms apart (a group commit of single
// publishes) must leave a turn mark for whatever a claim between those stamps did not take.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repairMissedTurns } from '../../src/store/deliveries/turns.js';
import { publishEvents } from '../../src/store/publish.js';
import { engines } from '../helpers/engines.js';
import { at, type Kit, kit } from '../helpers/kit.js';

describe.each(engines())('turn marks of a group-committed publish (%s)', (engine) => {
  let k: Kit;
  beforeAll(async () => {
    k = await kit(engine);
    await k.tenant('t');
    await k.endpoint('t', 'ep', { max_in_flight: 100 });
  });
  afterAll(() => k?.drop());

  it('leaves the later events of the batch a mark when a claim between the stamps took the earlier ones', async () => {
    // Stamped at +0, +1 and +5 ms (the API stamps each request), written by one statement.
    const inputs = [0, 1, 5].map((ms, i) => ({
      tenantId: 't',
      id: `e${i}`,
      type: 'loan.updated',
      payloadJson: '{}',
      channels: [],
      orderingKey: null,
      idempotencyKey: null,
      requestHash: `h${i}`,
      source: 'api',
      createdAt: at(ms),
    }));
    await publishEvents(k.q, inputs);
    // A claim whose time was read at +2 ms, before the last publish was stamped: it may take
    // the first two (or wait for the batch's mark), never strand the third.
    const first = await k.claim(at(2), { perEndpoint: 100 });
    // Once everything is due, the safety net finds no due work without a mark, and the claim
    // the marks lead to takes the rest.
    expect(await repairMissedTurns(k.q, at(10))).toBe(0);
    const next = await k.claim(at(10), { perEndpoint: 100 });
    expect([...first, ...next].map((d) => d.event_id).sort()).toEqual(['e0', 'e1', 'e2']);
    expect(await repairMissedTurns(k.q, at(20))).toBe(0);
  });
});
