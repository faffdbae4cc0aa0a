// Ordering by business key at the store level: per-key sequences without gaps, only the
// head of a key due, the next one promoted by the ack, a failed head holding only its key
// until it is resent or skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requeueFailed, resendDelivery, skipDelivery } from '../../src/store/deliveries/requeue.js';
import { listOrderingKeys } from '../../src/store/ordering.js';
import { engines } from '../helpers/engines.js';
import { at, type Kit, kit } from '../helpers/kit.js';

describe.each(engines())('ordering by key in the store (%s)', (engine) => {
  let k: Kit;
  beforeAll(async () => {
    k = await kit(engine);
    await k.tenant('bank');
    await k.endpoint('bank', 'ep_key', { ordering: 'key' });
    await k.endpoint('bank', 'ep_all', { ordering: 'endpoint' });
    await k.endpoint('bank', 'ep_none');
  });
  afterAll(() => k?.drop());

  const seqs = (endpoint: string) =>
    k.q.query<{ ordering_key: string | null; sequence: number | null; due: boolean; i: number }>(
      `SELECT d.ordering_key, d.sequence, d.next_attempt_at IS NOT NULL AS due, (ev.payload->>'i')::int AS i
       FROM delivery_status d JOIN events ev ON ev.seq = d.event_seq WHERE d.endpoint_id = $1 ORDER BY ev.seq`,
      [endpoint],
    );

  it('numbers each key from 1 without gaps, across publish batches, and makes only heads due', async () => {
    // Keys alternate A, B, A, B, … and a few events carry no key; two batches.
    const key = (i: number) => (i % 5 === 4 ? null : i % 2 === 0 ? 'A' : 'B');
    await k.publish('bank', 10, { when: at(0), orderingKey: key });
    await k.publish('bank', 10, { when: at(10), orderingKey: key });
    const rows = await seqs('ep_key');
    const byKey = new Map<string, number[]>();
    for (const r of rows)
      if (r.sequence !== null)
        byKey.set(r.ordering_key!, [...(byKey.get(r.ordering_key!) ?? []), r.sequence]);
    for (const [, s] of byKey) expect(s).toEqual(s.map((_, i) => i + 1));
    expect([...byKey.keys()].sort()).toEqual(['A', 'B']);
    // Heads (sequence 1) and unkeyed events are due; everything else waits.
    for (const r of rows) expect(r.due).toBe(r.sequence === null || r.sequence === 1);
    // ordering "endpoint": one key ("") for all 20, 1…20; ordering "none": no sequences.
    expect((await seqs('ep_all')).map((r) => r.sequence)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect((await seqs('ep_none')).every((r) => r.sequence === null && r.due)).toBe(true);
  });

  it('claims one delivery per key at a time, in sequence order, as each head succeeds', async () => {
    const sent: { key: string | null; seq: number | null }[] = [];
    let now = 100;
    for (let round = 0; round < 40; round++) {
      const got = (await k.claim(at(now))).filter((d) => d.endpoint_id === 'ep_key');
      const keys = got.filter((d) => d.sequence !== null).map((d) => d.ordering_key);
      expect(new Set(keys).size).toBe(keys.length); // never two of one key in flight
      for (const d of got) sent.push({ key: d.ordering_key, seq: d.sequence });
      await k.ack(got, at(now + 1), () => ({ ok: true }));
      now += 10;
    }
    const a = sent.filter((s) => s.key === 'A').map((s) => s.seq);
    const b = sent.filter((s) => s.key === 'B').map((s) => s.seq);
    expect(a).toEqual(Array.from({ length: a.length }, (_, i) => i + 1));
    expect(b).toEqual(Array.from({ length: b.length }, (_, i) => i + 1));
    expect(a.length + b.length).toBe(16);
  });

  it('holds a key behind its failing head while other keys flow; a given-up head blocks until resent', async () => {
    await k.publish('bank', 6, { when: at(10_000), orderingKey: (i) => (i < 3 ? 'X' : 'Y') });
    const first = (await k.claim(at(10_001))).filter((d) => d.endpoint_id === 'ep_key');
    expect(first.map((d) => [d.ordering_key, d.sequence])).toEqual([
      ['X', 1],
      ['Y', 1],
    ]);
    // X's head fails with a retry; Y's succeeds.
    await k.ack(first, at(10_002), (d) =>
      d.ordering_key === 'X' ? { ok: false, retryAt: at(20_000) } : { ok: true },
    );
    const second = (await k.claim(at(10_003))).filter((d) => d.endpoint_id === 'ep_key');
    expect(second.map((d) => [d.ordering_key, d.sequence])).toEqual([['Y', 2]]);
    await k.ack(second, at(10_004), () => ({ ok: true }));

    const blocked = await listOrderingKeys(k.q, 'ep_key', { blocked: true, limit: 10 });
    expect(blocked!.data.map((r) => [r.key, r.head_sequence, r.unfinished, r.head_state])).toEqual([
      ['X', 1, 3, 'pending'],
    ]);
    expect(blocked!.data[0]!.blocked_since).toEqual(at(10_002));

    // The retry fails for good: the key stays blocked (Y finishes meanwhile).
    const retry = (await k.claim(at(20_000))).filter((d) => d.endpoint_id === 'ep_key');
    expect(retry.map((d) => [d.ordering_key, d.sequence])).toEqual([
      ['X', 1],
      ['Y', 3],
    ]);
    await k.ack(retry, at(20_001), (d) => (d.ordering_key === 'X' ? { ok: false } : { ok: true }));
    expect((await k.claim(at(30_000))).filter((d) => d.endpoint_id === 'ep_key')).toEqual([]);
    const still = await listOrderingKeys(k.q, 'ep_key', { blocked: true, limit: 10 });
    expect(still!.data.map((r) => [r.key, r.head_state, r.blocked])).toEqual([['X', 'failed', true]]);

    // Resending the head sends it, and its success releases X in order.
    const headId = still!.data[0]!.head_delivery_id;
    expect(await k.t.db.tx((q) => resendDelivery(q, 'bank', headId, at(30_001)))).toBe('queued');
    const again = (await k.claim(at(30_002))).filter((d) => d.endpoint_id === 'ep_key');
    expect(again.map((d) => [d.ordering_key, d.sequence])).toEqual([['X', 1]]);
    const { promoted } = await k.ack(again, at(30_003), () => ({ ok: true }));
    expect(promoted).toEqual(['ep_key']);
    const next = (await k.claim(at(30_004))).filter((d) => d.endpoint_id === 'ep_key');
    expect(next.map((d) => [d.ordering_key, d.sequence])).toEqual([['X', 2]]);
    await k.ack(next, at(30_005), () => ({ ok: true }));
  });

  it('releases a key when its given-up head is skipped; recover requeues a failed head in order', async () => {
    // X has sequence 3 left. Fail it for good, then publish two more X events behind it.
    const head = (await k.claim(at(40_000))).filter((d) => d.endpoint_id === 'ep_key');
    expect(head.map((d) => [d.ordering_key, d.sequence])).toEqual([['X', 3]]);
    await k.ack(head, at(40_001), () => ({ ok: false }));
    await k.publish('bank', 2, { when: at(40_002), orderingKey: () => 'X' });
    expect((await k.claim(at(40_003))).filter((d) => d.endpoint_id === 'ep_key')).toEqual([]);

    // Recover puts the failed head back first: X4 still waits behind it.
    expect(await k.t.db.tx((q) => requeueFailed(q, 'bank', 'ep_key', at(0), at(40_004)))).toBe(1);
    const requeued = (await k.claim(at(40_005))).filter((d) => d.endpoint_id === 'ep_key');
    expect(requeued.map((d) => [d.ordering_key, d.sequence])).toEqual([['X', 3]]);
    await k.ack(requeued, at(40_006), () => ({ ok: false }));

    // Skipping it releases X4.
    expect(await k.t.db.tx((q) => skipDelivery(q, 'bank', head[0]!.id, at(40_007)))).toBe('skipped');
    expect(await k.t.db.tx((q) => skipDelivery(q, 'bank', head[0]!.id, at(40_007)))).toBe('finished');
    const released = (await k.claim(at(40_008))).filter((d) => d.endpoint_id === 'ep_key');
    expect(released.map((d) => [d.ordering_key, d.sequence])).toEqual([['X', 4]]);
    await k.ack(released, at(40_009), () => ({ ok: true }));
    const last = (await k.claim(at(40_010))).filter((d) => d.endpoint_id === 'ep_key');
    expect(last.map((d) => [d.ordering_key, d.sequence])).toEqual([['X', 5]]);
    await k.ack(last, at(40_011), () => ({ ok: true }));
    expect((await listOrderingKeys(k.q, 'ep_key', { blocked: false, limit: 10 }))!.data).toEqual([]);
  });
});
