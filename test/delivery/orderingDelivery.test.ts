// Ordering end to end: a receiver fails the first event of key A twice; A's events still
// arrive strictly in publish order, B's flow meanwhile, and every key's sequence header
// counts 1, 2, 3, … without a gap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';
import { captureLog } from './appLog.js';

interface OrderingKey {
  key: string;
  blocked: boolean;
  blocked_since: string | null;
  unfinished: number;
  head: { delivery_id: string; sequence: number; state: string; attempts: number };
}

const body = (r: Received) => JSON.parse(r.body) as { data: { key: string; n: number } };

describe.each(engines())('ordering by key, delivered (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const logs = captureLog();
  let releaseA!: () => void;
  const bDone = new Promise<void>((resolve) => {
    releaseA = resolve;
  });

  beforeAll(async () => {
    let aFailures = 0;
    rx = await startReceiver(async (req) => {
      const { key, n } = body(req).data;
      if (key === 'A' && n === 1 && aFailures < 2) {
        aFailures += 1;
        // The second failure is held back until all of B has arrived: if B waited behind
        // A's failing head, this would never answer and the test would time out.
        if (aFailures === 2) await bDone;
        return { status: 503 };
      }
      return { status: 200 };
    });
    app = await startApp(engine, {}, { log: logs.log });
    await app.api('PUT', '/v1/event-types/payment.changed', {});
    await app.api('POST', '/v1/tenants', { id: 'bank', name: 'Bank' });
    const ep = await app.api('POST', '/v1/tenants/bank/endpoints', {
      url: `${rx.url}/hook`,
      ordering: 'key',
    });
    expect(ep.status).toBe(201);
  });
  afterAll(async () => {
    releaseA();
    await app?.stop();
    await rx?.close();
  });

  it('delivers each key in order, one at a time, while a failing head holds only its own key', async () => {
    for (let n = 1; n <= 5; n++) {
      for (const key of ['A', 'B']) {
        const r = await app.api('POST', '/v1/tenants/bank/events', {
          type: 'payment.changed',
          payload: { key, n },
          ordering_key: key,
        });
        expect(r.status).toBe(202);
      }
    }
    const ofKey = (key: string) => rx.requests.filter((r) => body(r).data.key === key);
    // A's second attempt is held by the receiver until this point: A cannot get past its
    // head before all of B is in, unless B waits for A (then this times out).
    await until(() => ofKey('B').length >= 5 && ofKey('A').length >= 2, 'all of B, A failing', 30_000).catch(
      (err) => {
        console.log(logs.dump());
        throw err;
      },
    );
    // B flowed while A's head was failing: A has not got past its first event.
    expect(ofKey('A').map((r) => body(r).data.n)).toEqual([1, 1]);
    // The API shows A blocked by its head (sequence 1), since its first failure.
    const blocked = await app.api<{ data: OrderingKey[] }>(
      'GET',
      `/v1/tenants/bank/endpoints/${await endpointId()}/ordering-keys?blocked=true`,
    );
    expect(blocked.body.data.map((k) => [k.key, k.blocked, k.head.sequence, k.unfinished])).toEqual([
      ['A', true, 1, 5],
    ]);
    expect(Date.parse(blocked.body.data[0]!.blocked_since!)).toBeLessThanOrEqual(Date.now());
    releaseA();
    await until(() => ofKey('A').length >= 7, 'all of A', 30_000);

    // A: the head three times (two failures, one success), then 2…5, strictly in order.
    expect(ofKey('A').map((r) => body(r).data.n)).toEqual([1, 1, 1, 2, 3, 4, 5]);
    expect(ofKey('B').map((r) => body(r).data.n)).toEqual([1, 2, 3, 4, 5]);
    for (const key of ['A', 'B']) {
      const seqs = ofKey(key).map((r) => Number(r.headers['webhook-sequence']));
      expect([...new Set(seqs)]).toEqual([1, 2, 3, 4, 5]);
      // webhook-id is stable across the retries of one event.
      const heads = ofKey(key).filter((r) => r.headers['webhook-sequence'] === '1');
      expect(new Set(heads.map((r) => r.headers['webhook-id'])).size).toBe(1);
    }
    const keys = await app.api<{ data: unknown[] }>(
      'GET',
      `/v1/tenants/bank/endpoints/${await endpointId()}/ordering-keys`,
    );
    expect(keys.status).toBe(200);
    expect(keys.body.data).toEqual([]);
  });

  it('keeps a key blocked behind a given-up head until it is skipped', async () => {
    rx.setResponder((req) => ({ status: body(req).data.key === 'C' && body(req).data.n === 1 ? 422 : 200 }));
    const publish = (n: number) =>
      app.api('POST', '/v1/tenants/bank/events', {
        type: 'payment.changed',
        payload: { key: 'C', n },
        ordering_key: 'C',
      });
    await publish(1);
    await publish(2);
    const ep = await endpointId();
    const keys = () =>
      app.api<{ data: OrderingKey[] }>('GET', `/v1/tenants/bank/endpoints/${ep}/ordering-keys?blocked=true`);
    // Four attempts (the test schedule retries three times), then the head gives up...
    const gaveUp = await until(async () => {
      const k = (await keys()).body.data.find((x) => x.key === 'C');
      return k?.head.state === 'failed' ? k : undefined;
    }, 'C’s head to give up');
    expect(gaveUp).toMatchObject({ blocked: true, unfinished: 2, head: { sequence: 1, attempts: 4 } });
    // ...and C2 is still held back: the key stays blocked until someone decides.
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.requests.filter((r) => body(r).data.key === 'C' && body(r).data.n === 2)).toEqual([]);
    const skip = await app.api('POST', `/v1/tenants/bank/deliveries/${gaveUp.head.delivery_id}/skip`);
    expect(skip.status).toBe(202);
    expect(
      (await app.api('POST', `/v1/tenants/bank/deliveries/${gaveUp.head.delivery_id}/skip`)).status,
    ).toBe(409);
    await until(
      () => rx.requests.some((r) => body(r).data.key === 'C' && body(r).data.n === 2),
      'C2 after the skip',
    );
    const c2 = rx.requests.find((r) => body(r).data.key === 'C' && body(r).data.n === 2)!;
    expect(c2.headers['webhook-sequence']).toBe('2');
    expect((await keys()).body.data).toEqual([]);
  });

  async function endpointId(): Promise<string> {
    const list = await app.api<{ data: { id: string }[] }>('GET', '/v1/tenants/bank/endpoints');
    return list.body.data[0]!.id;
  }
});
