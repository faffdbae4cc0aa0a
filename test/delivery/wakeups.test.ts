// Publishes racing claims of the same endpoints: no delivery may be left without a turn.
// The store's locking must get this right on its own; the periodic repair is only a net,
// so the test also checks that the net caught nothing. And a claim that leaves due turns it
// did not look at says so, so that the worker claims again before its next poll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

describe.each(engines())('publishes racing claims (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  beforeAll(async () => {
    app = await startApp(engine, { TIDINGS_POLL_INTERVAL_MS: '60000', TIDINGS_WORKER_CONCURRENCY: '16' });
    rx = await startReceiver();
    await app.api('PUT', '/v1/event-types/tick', {});
    await app.api('POST', '/v1/tenants', { id: 't', name: 'T' });
    for (const p of ['/a', '/b']) await app.api('POST', '/v1/tenants/t/endpoints', { url: rx.url + p });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('delivers every event of many small bursts with polling effectively off', async () => {
    // Each burst's last publish is the one a lost turn would strand: nothing comes after it.
    let sent = 0;
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          const r = await app.api('POST', '/v1/tenants/t/events', { type: 'tick', payload: { round } });
          expect(r.status).toBe(202);
        }),
      );
      sent += 6;
      await rx.waitFor(sent * 2, 30_000);
    }
    expect(app.tidings.worker!.stats.repairedTurns).toBe(0);
  });

  it('drains a fan-out wider than one claim looks at, with polling effectively off', async () => {
    // A claim looks at most at max(10, limit / 2) turn marks (16 here). One event to 100
    // endpoints gives each one delivery: a claim takes 16, fewer than its limit, and must
    // still say that due marks are left, or the rest wait for the next poll (a minute here).
    await app.api('POST', '/v1/tenants', { id: 'wide', name: 'Wide' });
    for (let i = 0; i < 100; i++)
      await app.api('POST', '/v1/tenants/wide/endpoints', { url: `${rx.url}/wide/${i}` });
    const before = rx.requests.length;
    const r = await app.api<{ deliveries: number }>('POST', '/v1/tenants/wide/events', {
      type: 'tick',
      payload: { wide: true },
    });
    expect(r.status).toBe(202);
    await rx.waitFor(before + 100, 20_000);
    const paths = new Set(rx.requests.slice(before).map((q) => q.path));
    expect(paths.size).toBe(100);
  });
});
