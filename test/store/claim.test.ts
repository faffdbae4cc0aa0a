import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAttempts } from '../../src/store/deliveries/ack.js';
import { claimDeliveries } from '../../src/store/deliveries/claim.js';
import { releaseExpiredLeases } from '../../src/store/deliveries/turns.js';
import type { AttemptResult } from '../../src/store/deliveries/types.js';
import { createEndpoint } from '../../src/store/endpoints.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import { migrate } from '../../src/store/migrate.js';
import { openPg } from '../../src/store/pg.js';
import { publishEvents } from '../../src/store/publish.js';
import { plainCodec } from '../../src/store/secrets.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const t0 = new Date('2026-03-01T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe.each(engines())('claiming deliveries (%s)', (engine) => {
  let t: TestDb;
  let seq = 0;
  async function publish(count: number, tenant = 'a', when = t0) {
    const inputs = Array.from({ length: count }, () => {
      seq += 1;
      return {
        tenantId: tenant,
        id: `e${seq}`,
        type: 'thing.happened',
        payloadJson: `{"n":${seq}}`,
        channels: [],
        orderingKey: null,
        idempotencyKey: null,
        requestHash: `h${seq}`,
        source: 'api',
        createdAt: when,
      };
    });
    await t.db.tx((q) => publishEvents(q, inputs));
  }
  const claim = (now: Date, worker = 'w1', limit = 100, perEndpoint = 50) =>
    t.db.tx((q) =>
      claimDeliveries(q, {
        now,
        leaseUntil: at(now.getTime() - t0.getTime() + 60_000),
        workerId: worker,
        limit,
        perEndpoint,
        endpoints: 50,
      }),
    );

  beforeAll(async () => {
    t = await freshDb(engine);
    await upsertEventType(t.db, { name: 'thing.happened' }, t0);
    for (const tenant of ['a', 'b']) {
      await createTenant(t.db, { id: tenant, name: tenant }, t0);
      await createEndpoint(
        t.db,
        plainCodec,
        `ep_${tenant}`,
        tenant,
        { url: 'https://example.com/x', secret: 'whsec_x', max_in_flight: 5 },
        t0,
      );
    }
  });
  afterAll(() => t?.drop());

  it('claims due deliveries with everything needed to send them, up to the in-flight cap', async () => {
    await publish(8);
    const got = await claim(t0);
    expect(got).toHaveLength(5);
    expect(got[0]).toMatchObject({
      endpoint_id: 'ep_a',
      url: 'https://example.com/x',
      event_type: 'thing.happened',
      attempts: 0,
    });
    expect(JSON.parse(got[0]!.payload)).toEqual({ n: 1 });
    // The endpoint is full: nothing more until some finish.
    expect(await claim(at(10))).toHaveLength(0);
  });

  it('records attempts in a batch and schedules retries', async () => {
    const inFlight = await t.db.query<{ id: number }>(
      "SELECT id FROM delivery_status WHERE state = 'delivering' ORDER BY id",
    );
    const results: AttemptResult[] = inFlight.map((d, i) => ({
      deliveryId: d.id,
      endpointId: 'ep_a',
      attempt: 1,
      startedAt: at(20),
      durationMs: 5,
      url: 'https://example.com/x',
      status: i === 0 ? 500 : 200,
      requestHeaders: {},
      responseHeaders: {},
      responseBody: 'ok',
      error: i === 0 ? 'HTTP 500' : null,
      next: i === 0 ? 'retry' : 'succeeded',
      retryAt: i === 0 ? at(5_000) : null,
      gone: false,
    }));
    await t.db.tx((q) => recordAttempts(q, results, 'w1', at(30)));
    const states = await t.db.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM deliveries GROUP BY state ORDER BY state',
    );
    expect(states).toEqual([
      { state: 'pending', n: 4 },
      { state: 'succeeded', n: 4 },
    ]);
    const attempts = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM attempts');
    expect(attempts[0]!.n).toBe(5);
    // The three never-sent ones are due now; the retried one only at +5 s.
    expect(await claim(at(100))).toHaveLength(3);
  });

  it('lets another worker take over an expired lease, and ignores the late ack of the first', async () => {
    const leased = await t.db.query<{ id: number }>(
      "SELECT id FROM delivery_status WHERE state = 'delivering'",
    );
    expect(leased.length).toBe(3);
    expect(await t.db.tx((q) => releaseExpiredLeases(q, at(30_000)))).toBe(0);
    expect(await t.db.tx((q) => releaseExpiredLeases(q, at(120_000)))).toBe(3);
    const taken = await claim(at(120_001), 'w2');
    expect(taken.map((d) => d.id).sort()).toEqual(expect.arrayContaining(leased.map((d) => d.id)));
    // w1 answers late: its attempt is kept, but w2 owns the delivery now.
    await t.db.tx((q) =>
      recordAttempts(
        q,
        [
          {
            deliveryId: leased[0]!.id,
            endpointId: 'ep_a',
            attempt: 1,
            startedAt: at(50),
            durationMs: 1,
            url: 'x',
            status: 200,
            requestHeaders: {},
            responseHeaders: null,
            responseBody: null,
            error: null,
            next: 'succeeded',
            retryAt: null,
            gone: false,
          },
        ],
        'w1',
        at(120_002),
      ),
    );
    const row = await t.db.query<{ state: string; locked_by: string }>(
      'SELECT state, locked_by FROM delivery_status WHERE id = $1',
      [leased[0]!.id],
    );
    expect(row[0]).toEqual({ state: 'delivering', locked_by: 'w2' });
  });

  it('never hands one delivery to two claims', async () => {
    await publish(30, 'b', at(200_000));
    const [x, y] = await Promise.all([claim(at(200_001), 'w3', 100, 3), claim(at(200_001), 'w4', 100, 3)]);
    const ids = [...x, ...y].map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe.runIf(engines().includes('pg'))('migrations', () => {
  it('come up when two processes start at once', async () => {
    const t = await freshDb('pg');
    try {
      // freshDb migrated already; start over in a second schema with two pools racing.
      const schema = `${t.schema}_race`;
      await t.db.exec(`CREATE SCHEMA ${schema}`);
      const a = await openPg(t.url!, { schema });
      const b = await openPg(t.url!, { schema });
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      expect([...ra, ...rb].sort()).toEqual([...new Set([...ra, ...rb])].sort());
      expect(ra.length + rb.length).toBeGreaterThan(0);
      expect(Math.min(ra.length, rb.length)).toBe(0);
      await a.close();
      await b.close();
      await t.db.exec(`DROP SCHEMA ${schema} CASCADE`);
    } finally {
      await t.drop();
    }
  });
});
