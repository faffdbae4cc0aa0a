// Publishes racing claims of the same endpoints: no delivery may be left without a turn.
// The store's locking must get this right on its own; the periodic repair is only a net,
// so the test also checks that the net caught nothing.
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
});
