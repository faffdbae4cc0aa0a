// One endpoint that hangs for the whole timeout beside one that answers at once: the fast
// one gets all its events while the slow one is still hanging (per-endpoint in-flight cap).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { captureLog } from './appLog.js';

describe.each(engines())('a hanging endpoint beside a fast one (%s)', (engine) => {
  let app: TestApp;
  let slow: Receiver;
  let fast: Receiver;
  const logs = captureLog();
  beforeAll(async () => {
    slow = await startReceiver(() => ({ hang: true }));
    fast = await startReceiver(() => ({ status: 204 }));
    // 16 requests in flight for the whole worker; the slow endpoint may hold at most 10.
    app = await startApp(
      engine,
      { TIDINGS_REQUEST_TIMEOUT_MS: '60000', TIDINGS_WORKER_CONCURRENCY: '16' },
      { log: logs.log },
    );
    await app.api('PUT', '/v1/event-types/loan.updated', {});
    await app.api('POST', '/v1/tenants', { id: 'sleepy', name: 'Sleepy Servicing' });
    await app.api('POST', '/v1/tenants', { id: 'quick', name: 'Quick Lending' });
    expect((await app.api('POST', '/v1/tenants/sleepy/endpoints', { url: `${slow.url}/hook` })).status).toBe(
      201,
    );
    expect((await app.api('POST', '/v1/tenants/quick/endpoints', { url: `${fast.url}/hook` })).status).toBe(
      201,
    );
  });
  afterAll(async () => {
    // Closing the hanging receiver first ends its requests, so the worker stops at once.
    await slow?.close();
    await app?.stop();
    await fast?.close();
  });

  it('delivers every event to the fast endpoint while the slow one hangs', async () => {
    const fastIds: string[] = [];
    for (let i = 0; i < 60; i++) {
      // Interleaved: the slow tenant publishes as much as the fast one, and first.
      for (const tenant of ['sleepy', 'quick']) {
        const r = await app.api<{ id: string }>('POST', `/v1/tenants/${tenant}/events`, {
          type: 'loan.updated',
          payload: { i },
        });
        expect(r.status).toBe(202);
        if (tenant === 'quick') fastIds.push(r.body.id);
      }
    }
    const got = await fast.waitFor(60, 40_000).catch(async (err) => {
      // The story, for a failure: what each endpoint holds, the worker's counters, its warnings.
      const states = await app.testDb.db.query(
        'SELECT endpoint_id, state, count(*)::int AS n FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2',
      );
      console.log(JSON.stringify({ fast: fast.requests.length, slow: slow.requests.length, states }));
      console.log(JSON.stringify(app.tidings.worker?.stats), logs.dump());
      throw err;
    });
    expect(new Set(got.map((r) => String(r.headers['webhook-id'])))).toEqual(new Set(fastIds));
    // The slow endpoint is still hanging: it holds its cap of requests and none has ended.
    expect(slow.requests.length).toBeGreaterThan(0);
    expect(slow.requests.length).toBeLessThanOrEqual(10);
    const ended = await app.testDb.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.tenant_id = 'sleepy'`,
    );
    expect(ended[0]!.n).toBe(0);
    const inFlight = await app.testDb.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM delivery_status WHERE tenant_id = 'sleepy' AND state = 'delivering'`,
    );
    expect(inFlight[0]!.n).toBe(slow.requests.length);
  });
});
