// The give-up notices owed to the operator: written by the ack that records the give-up (and
// by no other ack), taken once, the operator's own deliveries dropped without a notice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeDeliveryFailures } from '../../src/store/deliveryFailures.js';
import { engines } from '../helpers/engines.js';
import { at, type Kit, kit, T0 } from '../helpers/kit.js';

describe.each(engines())('delivery failures (%s)', (engine) => {
  let k: Kit;
  beforeAll(async () => {
    k = await kit(engine);
    await k.tenant('acme');
    await k.tenant('operator');
    await k.endpoint('acme', 'ep_a');
    await k.endpoint('operator', 'ep_ops');
  });
  afterAll(() => k?.drop());

  const owed = async () =>
    (
      await k.q.query<{ delivery_id: number }>(
        'SELECT delivery_id FROM delivery_failures ORDER BY delivery_id',
      )
    ).map((r) => r.delivery_id);

  it('is written by a give-up only', async () => {
    await k.publish('acme', 3, { when: T0 });
    await k.publish('operator', 1, { when: T0 });
    const claimed = await k.claim(at(1000));
    expect(claimed).toHaveLength(4);
    const [ok, retry, ...gaveUp] = claimed;
    await k.ack([ok!], at(1100), () => ({ ok: true }));
    await k.ack([retry!], at(1100), () => ({ ok: false, retryAt: at(60_000) }));
    expect(await owed()).toEqual([]);
    await k.ack(gaveUp, at(1200), () => ({ ok: false, status: 503 }));
    expect(await owed()).toEqual(gaveUp.map((d) => d.id).sort((a, b) => a - b));
  });

  it('is taken once, with what the notice says; the operator’s own is dropped silently', async () => {
    const first = await k.t.db.tx((q) => takeDeliveryFailures(q, 'operator', 100));
    expect(first.taken).toBe(2);
    expect(first.failures).toHaveLength(1);
    expect(first.failures[0]).toMatchObject({
      tenant_id: 'acme',
      endpoint_id: 'ep_a',
      url: 'https://receiver.example/hook',
      attempts: 1,
      last_status: 503,
      last_error: 'HTTP 503',
    });
    expect(first.failures[0]!.failed_at.toISOString()).toBe(at(1200).toISOString());
    const again = await k.t.db.tx((q) => takeDeliveryFailures(q, 'operator', 100));
    expect(again).toEqual({ taken: 0, failures: [] });
    expect(await owed()).toEqual([]);
  });

  it('puts the rows back when the publishing transaction fails', async () => {
    await k.publish('acme', 1, { when: at(2000) });
    const [d] = await k.claim(at(3000));
    await k.ack([d!], at(3100), () => ({ ok: false }));
    await expect(
      k.t.db.tx(async (q) => {
        await takeDeliveryFailures(q, 'operator', 100);
        throw new Error('publish failed');
      }),
    ).rejects.toThrow('publish failed');
    expect(await owed()).toEqual([d!.id]);
  });
});
