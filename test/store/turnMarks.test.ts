// A publish batch whose events were stamped a few ms apart (a group commit of single
// publishes) must leave a turn mark for whatever a claim between those stamps did not take.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDeliveries } from '../../src/store/deliveries/claim.js';
import { repairMissedTurns } from '../../src/store/deliveries/turns.js';
import { createEndpoint } from '../../src/store/endpoints.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import { publishEvents } from '../../src/store/publish.js';
import { plainCodec } from '../../src/store/secrets.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const t0 = new Date('2026-03-01T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe.each(engines())('turn marks of a group-committed publish (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb(engine);
    await upsertEventType(t.db, { name: 'tick' }, t0);
    await createTenant(t.db, { id: 't', name: 't' }, t0);
    await createEndpoint(
      t.db,
      plainCodec,
      'ep',
      't',
      { url: 'https://example.com/x', secret: 'whsec_x', max_in_flight: 100 },
      t0,
    );
  });
  afterAll(() => t?.drop());

  const claim = (now: Date) =>
    claimDeliveries(t.db, {
      now,
      leaseUntil: at(now.getTime() - t0.getTime() + 60_000),
      workerId: 'w',
      limit: 100,
      perEndpoint: 100,
      endpoints: 10,
    });

  it('leaves the later events of the batch a mark when a claim between the stamps took the earlier ones', async () => {
    // Stamped at +0, +1 and +5 ms (the API stamps each request), written by one statement.
    const inputs = [0, 1, 5].map((ms, i) => ({
      tenantId: 't',
      id: `e${i}`,
      type: 'tick',
      payloadJson: '{}',
      channels: [],
      orderingKey: null,
      idempotencyKey: null,
      requestHash: `h${i}`,
      source: 'api',
      createdAt: at(ms),
    }));
    await publishEvents(t.db, inputs);
    // A claim whose time was read at +2 ms, before the last publish was stamped: it may take
    // the first two (or wait for the batch's mark), never strand the third.
    const first = await claim(at(2));
    // Once everything is due, the safety net finds no due work without a mark, and the claim
    // the marks lead to takes the rest.
    expect(await repairMissedTurns(t.db, at(10))).toBe(0);
    const next = await claim(at(10));
    expect([...first, ...next].map((d) => d.event_id).sort()).toEqual(['e0', 'e1', 'e2']);
    expect(await repairMissedTurns(t.db, at(20))).toBe(0);
  });
});
