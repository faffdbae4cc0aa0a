import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpoint } from '../../src/store/endpoints.js';
import type { PublishInput } from '../../src/store/events.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import { isWholeBatchRefusal, publishEvents } from '../../src/store/publish.js';
import { plainCodec } from '../../src/store/secrets.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const now = new Date('2026-03-01T10:00:00Z');
let n = 0;
function input(over: Partial<PublishInput>): PublishInput {
  n += 1;
  return {
    tenantId: 'bank',
    id: `evt_${n}`,
    type: 'IncomingPaymentBooked',
    payloadJson: '{"amount":1}',
    channels: [],
    orderingKey: null,
    idempotencyKey: null,
    requestHash: `h${n}`,
    source: 'api',
    createdAt: now,
    ...over,
  };
}

describe.each(engines())('publish and fan-out (%s)', (engine) => {
  let t: TestDb;
  const ep: Record<string, string> = {};
  beforeAll(async () => {
    t = await freshDb(engine);
    const { db } = t;
    for (const [name, def] of [
      ['IncomingPaymentBooked', true],
      ['OutgoingPaymentRejected', true],
      ['bill_payments.paid', true],
      ['settlements.sent', true],
      ['account_delinquency', false],
    ] as const) {
      await upsertEventType(db, { name, default_enabled: def }, now);
    }
    await createTenant(db, { id: 'bank', name: 'Bank' }, now);
    await createTenant(db, { id: 'other', name: 'Other' }, now);
    const mk = async (key: string, tenant: string, over: Record<string, unknown>) => {
      ep[key] = `ep_${key}`;
      await createEndpoint(
        db,
        plainCodec,
        `ep_${key}`,
        tenant,
        { url: 'https://example.com', secret: 'whsec_x', ...over },
        now,
      );
    };
    await mk('all', 'bank', {});
    await mk('rejected', 'bank', { event_types: ['OutgoingPaymentRejected'] });
    await mk('ba1', 'bank', { event_types: ['IncomingPaymentBooked'], channels: ['bank_account:BA-1'] });
    await mk('bills', 'bank', { event_types: ['bill_payments.*'] });
    await mk('star', 'bank', { event_types: ['*'] });
    await mk('optin', 'bank', { event_types: ['account_delinquency'] });
    await mk('off', 'bank', { disabled: true });
    await mk('otherTenant', 'other', {});
  });
  afterAll(() => t?.drop());

  async function targets(i: PublishInput): Promise<string[]> {
    const { outcomes } = await t.db.tx((q) => publishEvents(q, [i]));
    expect(outcomes[0]!.kind).toBe('created');
    const rows = await t.db.query<{ endpoint_id: string }>(
      'SELECT endpoint_id FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE e.id = $1 ORDER BY endpoint_id',
      [i.id],
    );
    return rows.map((r) => r.endpoint_id);
  }

  it('gives default types to endpoints without a filter, never to other tenants', async () => {
    expect(await targets(input({}))).toEqual(['ep_all', 'ep_off', 'ep_star']);
  });

  it('gives an explicit type to the endpoints that list it', async () => {
    expect(await targets(input({ type: 'OutgoingPaymentRejected' }))).toEqual([
      'ep_all',
      'ep_off',
      'ep_rejected',
      'ep_star',
    ]);
  });

  it('matches channels: a channel-filtered endpoint gets only tagged events', async () => {
    expect(await targets(input({ channels: ['bank_account:BA-1'] }))).toEqual([
      'ep_all',
      'ep_ba1',
      'ep_off',
      'ep_star',
    ]);
    expect(await targets(input({ channels: ['bank_account:BA-9'] }))).toEqual([
      'ep_all',
      'ep_off',
      'ep_star',
    ]);
  });

  it('matches topic patterns', async () => {
    expect(await targets(input({ type: 'bill_payments.paid' }))).toEqual([
      'ep_all',
      'ep_bills',
      'ep_off',
      'ep_star',
    ]);
    expect(await targets(input({ type: 'settlements.sent' }))).toEqual(['ep_all', 'ep_off', 'ep_star']);
  });

  it('gives opt-in types only to endpoints that asked (and to "*")', async () => {
    expect(await targets(input({ type: 'account_delinquency' }))).toEqual(['ep_optin', 'ep_star']);
  });

  it('treats a repeat of an id or key as the same event and a changed body as a conflict', async () => {
    const first = input({ idempotencyKey: 'k-1' });
    const [a] = (await t.db.tx((q) => publishEvents(q, [first]))).outcomes;
    expect(a!.kind).toBe('created');
    const again = (await t.db.tx((q) => publishEvents(q, [{ ...first }]))).outcomes[0]!;
    expect(again.kind).toBe('duplicate');
    expect(again.kind === 'duplicate' && again.deliveries).toBe(3);
    const sameKeyNewId = (await t.db.tx((q) => publishEvents(q, [{ ...first, id: 'evt_other' }])))
      .outcomes[0]!;
    expect(sameKeyNewId.kind).toBe('duplicate');
    expect(sameKeyNewId.kind === 'duplicate' && sameKeyNewId.event.id).toBe(first.id);
    const changed = (await t.db.tx((q) => publishEvents(q, [{ ...first, requestHash: 'different' }])))
      .outcomes[0]!;
    expect(changed.kind).toBe('conflict');
    const count = await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE idempotency_key = 'k-1'",
    );
    expect(count[0]!.n).toBe(1);
  });

  it('writes a batch in one transaction, repeats inside the batch included', async () => {
    const a = input({});
    const b = input({ type: 'OutgoingPaymentRejected' });
    const { outcomes } = await t.db.tx((q) => publishEvents(q, [a, b, { ...a }]));
    expect(outcomes.map((o) => o.kind)).toEqual(['created', 'created', 'duplicate']);
  });

  it('all or nothing (whole): one input not inserted fails the statement and writes none of it', async () => {
    const seen = input({});
    await publishEvents(t.db, [seen]);
    const fresh = input({});
    const stored = async (id: string) =>
      (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE id = $1', [id]))[0]!.n;
    // A repeat beside a new event, a repeat inside the batch, a tenant that does not exist.
    for (const batch of [
      [fresh, { ...seen }],
      [fresh, { ...fresh }],
      [fresh, input({ tenantId: 'nobody' })],
    ]) {
      const err = await publishEvents(t.db, batch, { whole: true }).catch((e: unknown) => e);
      expect(isWholeBatchRefusal(err)).toBe(true);
      expect(await stored(fresh.id)).toBe(0);
    }
    // Nothing inserted at all: nothing to undo, and the outcomes say why.
    const repeat = await publishEvents(t.db, [{ ...seen }, { ...seen, requestHash: 'changed' }], {
      whole: true,
    });
    expect(repeat.outcomes.map((o) => o.kind)).toEqual(['duplicate', 'conflict']);
    // All new: written, in autocommit.
    const ok = await publishEvents(t.db, [fresh, input({})], { whole: true });
    expect(ok.outcomes.map((o) => o.kind)).toEqual(['created', 'created']);
    expect(await stored(fresh.id)).toBe(1);
  });

  it('makes the endpoints that got work due for the claim', async () => {
    const rows = await t.db.query<{ endpoint_id: string; next_due_at: Date | null }>(
      `SELECT s.endpoint_id, (SELECT min(due_at) FROM endpoint_turns t WHERE t.endpoint_id = s.endpoint_id) AS next_due_at
       FROM endpoint_state s ORDER BY s.endpoint_id`,
    );
    const due = Object.fromEntries(rows.map((r) => [r.endpoint_id, r.next_due_at?.toISOString() ?? null]));
    expect(due['ep_all']).toBe(now.toISOString());
    expect(due['ep_otherTenant']).toBeNull();
  });
});
