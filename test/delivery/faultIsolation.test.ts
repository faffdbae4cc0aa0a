// One tenant cannot stop delivery for the others (issue 13, finding 1). A tenant token that
// creates an endpoint with rate_limit_per_s 1e-14 and sends it one test event made every
// claim throw (1000 / rate overflows the date range), so every tenant's deliveries stopped.
// Now the value is refused at the API and by the store; and a row that holds a bad value
// anyway (written around the API) parks that endpoint alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

interface World {
  app: TestApp;
  rxA: Receiver;
  rxB: Receiver;
  tokenA: string;
}

async function startWorld(engine: Parameters<typeof startApp>[0]): Promise<World> {
  const app = await startApp(engine, {}, { roles: 'api,worker' });
  const rxA = await startReceiver();
  const rxB = await startReceiver();
  await app.api('PUT', '/v1/event-types/loan.paid', { description: 'paid' });
  for (const id of ['ten_a', 'ten_b']) await app.api('POST', '/v1/tenants', { id, name: id });
  const tokenA = (await app.api<{ token: string }>('POST', '/v1/tenants/ten_a/tokens', {})).body.token;
  const b = await app.api('POST', '/v1/tenants/ten_b/endpoints', { url: `${rxB.url}/b` });
  expect(b.status).toBe(201);
  return { app, rxA, rxB, tokenA };
}

async function stopWorld(w: World | undefined): Promise<void> {
  await w?.app.stop();
  await w?.rxA.close();
  await w?.rxB.close();
}

/** Publishes one event to tenant B and waits until B's receiver has it. */
async function deliveredToB(w: World, n: number): Promise<void> {
  const before = w.rxB.requests.length;
  const pub = await w.app.api('POST', '/v1/tenants/ten_b/events', { type: 'loan.paid', payload: { n } });
  expect(pub.status).toBe(202);
  await w.rxB.waitFor(before + 1, 20_000);
}

describe.each(engines())('a tenant cannot stop delivery for others (%s)', (engine) => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld(engine);
  });
  afterAll(() => stopWorld(w));

  it('refuses rate limits the engine cannot compute with, and B is still delivered', async () => {
    const statuses: Record<string, number> = {};
    const created: string[] = [];
    const bodies: [string, string][] = [
      ['1e-14', '1e-14'],
      ['1.2e-13', '1.2e-13'],
      ['0.001', '0.001'],
      ['0', '0'],
      ['-1', '-1'],
      ['1e400 (Infinity once parsed)', '1e400'],
      ['100001', '100001'],
    ];
    for (const [name, rate] of bodies) {
      const res = await w.app.api<{ id?: string }>('POST', '/v1/tenants/ten_a/endpoints', undefined, {
        token: w.tokenA,
        rawBody: `{"url": "${w.rxA.url}/a", "rate_limit_per_s": ${rate}}`,
      });
      statuses[name] = res.status;
      if (res.status === 201 && res.body.id) created.push(res.body.id);
    }
    // What the attack did next: a test event to each endpoint that got through.
    for (const id of created) {
      await w.app.api('POST', `/v1/tenants/ten_a/endpoints/${id}/test`, undefined, { token: w.tokenA });
    }
    // The harm first, so a failure before the fix shows it: B's event must still arrive.
    await deliveredToB(w, 1);
    expect(statuses).toEqual(Object.fromEntries(bodies.map(([name]) => [name, 422])));
  });

  it('accepts the bounds themselves, and a PATCH is held to them too', async () => {
    for (const rate of [0.01, 100_000, null]) {
      const res = await w.app.api(
        'POST',
        '/v1/tenants/ten_a/endpoints',
        {
          url: `${w.rxA.url}/a`,
          rate_limit_per_s: rate,
        },
        { token: w.tokenA },
      );
      expect(res.status, String(rate)).toBe(201);
    }
    const ep = await w.app.api<{ id: string }>(
      'POST',
      '/v1/tenants/ten_a/endpoints',
      {
        url: `${w.rxA.url}/a`,
      },
      { token: w.tokenA },
    );
    for (const patch of [{ rate_limit_per_s: 1e-14 }, { max_in_flight: 0 }, { max_in_flight: 1001 }]) {
      const res = await w.app.api('PATCH', `/v1/tenants/ten_a/endpoints/${ep.body.id}`, patch, {
        token: w.tokenA,
      });
      expect(res.status, JSON.stringify(patch)).toBe(422);
    }
    await deliveredToB(w, 2);
  });

  it('holds the bounds in the store as well', async () => {
    const ep = await w.app.api<{ id: string }>('POST', '/v1/tenants/ten_a/endpoints', {
      url: `${w.rxA.url}/a`,
    });
    for (const [column, value] of [
      ['rate_limit_per_s', 1e-14],
      ['rate_limit_per_s', 'NaN'],
      ['rate_limit_per_s', 'Infinity'],
      ['max_in_flight', 0],
    ] as const) {
      await expect(
        w.app.testDb.db.query(`UPDATE endpoints SET ${column} = $2 WHERE id = $1`, [ep.body.id, value]),
        `${column} = ${value}`,
      ).rejects.toThrow(/violates check constraint/);
    }
  });

  it('answers 422, not 500, when the store refuses a value the API let through', async () => {
    const ep = await w.app.api<{ id: string }>('POST', '/v1/tenants/ten_a/endpoints', {
      url: `${w.rxA.url}/a`,
    });
    // A bound the store holds and the API does not know of.
    await w.app.testDb.db.exec(
      "ALTER TABLE endpoints ADD CONSTRAINT test_no_forbidden CHECK (description <> 'forbidden')",
    );
    try {
      const r = await w.app.api<{ error: { code: string } }>(
        'PATCH',
        `/v1/tenants/ten_a/endpoints/${ep.body.id}`,
        { description: 'forbidden', max_in_flight: 7 },
        { token: w.tokenA },
      );
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('value_refused');
      const after = await w.app.api<{ max_in_flight: number }>(
        'GET',
        `/v1/tenants/ten_a/endpoints/${ep.body.id}`,
      );
      expect(after.body.max_in_flight).toBe(10);
    } finally {
      await w.app.testDb.db.exec('ALTER TABLE endpoints DROP CONSTRAINT test_no_forbidden');
    }
  });
});

// Rows written around the API (a bug, an old version, a hand edit) with values the engine
// cannot use. The engine (issue 12) clamps what it can and parks the endpoint it cannot
// compute with; every other endpoint flows.
describe.each(engines())('a corrupt endpoint row does not stop the others (%s)', (engine) => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld(engine);
  });
  afterAll(() => stopWorld(w));

  const endpointOfA = async (body: Record<string, unknown> = {}) => {
    const ep = await w.app.api<{ id: string }>(
      'POST',
      '/v1/tenants/ten_a/endpoints',
      { url: `${w.rxA.url}/a`, ...body },
      { token: w.tokenA },
    );
    expect(ep.status).toBe(201);
    return ep.body.id;
  };
  const testEvent = async (id: string) => {
    const r = await w.app.api('POST', `/v1/tenants/ten_a/endpoints/${id}/test`, undefined, {
      token: w.tokenA,
    });
    expect(r.status).toBe(202);
  };

  it('a rate of 1e-14 (the finding, written around the bounds) is clamped: both tenants are delivered', async () => {
    const id = await endpointOfA({ rate_limit_per_s: 1 });
    await w.app.testDb.db.exec('ALTER TABLE endpoints DROP CONSTRAINT endpoints_rate_limit_range');
    await w.app.testDb.db.query('UPDATE endpoints SET rate_limit_per_s = 1e-14 WHERE id = $1', [id]);
    await testEvent(id);
    await deliveredToB(w, 1);
    await w.rxA.waitFor(1, 20_000);
    const ready = await fetch(`${w.app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ parked_endpoints: 0 });
  });

  it('parks an endpoint it cannot send for, tells the operator, shows the fault, and B is delivered', async () => {
    const id = await endpointOfA({ headers: { 'X-Api-Key': 'k-1234567890' } });
    // Static headers that can no longer be opened: no request of this endpoint can be built.
    await w.app.testDb.db.query(`UPDATE endpoints SET headers = 'enc:v1:lost:AAAA:BBBB:CCCC' WHERE id = $1`, [
      id,
    ]);
    await testEvent(id);
    await deliveredToB(w, 2);
    const parked = await until(async () => {
      const r = await w.app.api<{ fault: { at: string; error: string } | null }>(
        'GET',
        `/v1/tenants/ten_a/endpoints/${id}`,
        undefined,
        { token: w.tokenA },
      );
      return r.body.fault;
    }, 'the endpoint to be parked');
    expect(parked.error).toContain('cannot be read');
    await deliveredToB(w, 3);

    const ready = await fetch(`${w.app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ parked_endpoints: 1 });

    await w.app.tidings.worker!.sweepHealth();
    await w.app.tidings.worker!.sweepHealth();
    const notices = await w.app.api<{ data: { type: string; payload: { endpoint_id: string } }[] }>(
      'GET',
      '/v1/tenants/operator/events?type=tidings.endpoint.faulted',
    );
    expect(notices.body.data.map((n) => n.payload.endpoint_id)).toEqual([id]);

    // Fixing the endpoint un-parks it; what waited is delivered.
    const before = w.rxA.requests.length;
    const fixed = await w.app.api<{ fault: unknown }>(
      'PATCH',
      `/v1/tenants/ten_a/endpoints/${id}`,
      { headers: { 'X-Api-Key': 'k-new-1234567890' } },
      { token: w.tokenA },
    );
    expect(fixed.status).toBe(200);
    expect(fixed.body.fault).toBeNull();
    await w.rxA.waitFor(before + 1, 20_000);
  });
});
