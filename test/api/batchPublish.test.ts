// POST /v1/tenants/{tid}/events/batch: up to 1,000 publishes in one request, all or nothing,
// idempotent per item, each item checked exactly like a single publish.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

interface BatchAnswer {
  events: { id: string; deliveries: number; duplicate: boolean }[];
}
interface ErrorAnswer {
  error: { code: string; message: string; details: { path?: string; errors?: { path: string }[] } | null };
}

describe.each(engines())('batch publish (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  let secret = '';
  const count = async () =>
    (
      await app.testDb.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM events WHERE tenant_id = 'acme'",
      )
    )[0]!.n;

  beforeAll(async () => {
    app = await startApp(engine, {
      TIDINGS_MAX_BATCH_BYTES: String(128 * 1024),
      TIDINGS_MAX_PAYLOAD_BYTES: '8192',
    });
    rx = await startReceiver();
    await app.api('PUT', '/v1/event-types/bill_payments.paid', {
      schema: {
        type: 'object',
        required: ['amount'],
        properties: { amount: { type: 'integer', minimum: 1 } },
      },
    });
    await app.api('PUT', '/v1/event-types/bill_payments.failed', {});
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
    const ep = await app.api<{ secret: string }>('POST', '/v1/tenants/acme/endpoints', {
      url: `${rx.url}/hook`,
    });
    secret = ep.body.secret;
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('stores every item, answers in request order, and delivers each signed with its exact text', async () => {
    const raw = `{"events": [
      {"type": "bill_payments.paid", "id": "b-1", "payload": {"amount": 100, "note": 2.50}},
      {"type": "bill_payments.failed", "id": "b-2", "payload": {"reason":"nsf"}},
      {"type": "bill_payments.paid", "payload": {"amount": 12345678901234567890}}
    ]}`;
    const r = await app.api<BatchAnswer>('POST', '/v1/tenants/acme/events/batch', undefined, {
      rawBody: raw,
    });
    expect(r.status).toBe(202);
    expect(
      r.body.events.map((e) => [e.id.startsWith('msg_') ? 'msg' : e.id, e.deliveries, e.duplicate]),
    ).toEqual([
      ['b-1', 1, false],
      ['b-2', 1, false],
      ['msg', 1, false],
    ]);
    const got = await rx.waitFor(3);
    const wh = new Webhook(secret);
    const bodies = got.map((g) => {
      wh.verify(g.body, {
        'webhook-id': String(g.headers['webhook-id']),
        'webhook-timestamp': String(g.headers['webhook-timestamp']),
        'webhook-signature': String(g.headers['webhook-signature']),
      });
      return g.body;
    });
    expect(bodies.some((b) => b.includes('"data":{"amount": 100, "note": 2.50}'))).toBe(true);
    expect(bodies.some((b) => b.includes('"data":{"amount": 12345678901234567890}'))).toBe(true);
  });

  it('is idempotent per item id: repeats answer their original, marked duplicate, and store nothing new', async () => {
    const before = await count();
    // b-1 exactly as first sent (its payload text is part of its fingerprint), and a new one.
    const raw = `{"events": [
      {"type": "bill_payments.paid", "id": "b-1", "payload": {"amount": 100, "note": 2.50}},
      {"type": "bill_payments.failed", "id": "b-3", "payload": {}}
    ]}`;
    const r = await app.api<BatchAnswer>('POST', '/v1/tenants/acme/events/batch', undefined, {
      rawBody: raw,
    });
    expect(r.status).toBe(202);
    expect(r.body.events.map((e) => [e.id, e.duplicate])).toEqual([
      ['b-1', true],
      ['b-3', false],
    ]);
    expect(await count()).toBe(before + 1);
  });

  it('answers 409 for an id reused with another body, and stores none of the batch', async () => {
    const before = await count();
    const r = await app.api<ErrorAnswer>('POST', '/v1/tenants/acme/events/batch', {
      events: [
        { type: 'bill_payments.failed', id: 'b-4', payload: {} },
        { type: 'bill_payments.failed', id: 'b-2', payload: { reason: 'changed' } },
      ],
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('idempotency_conflict');
    expect(r.body.error.details?.path).toBe('events[1]');
    expect(await count()).toBe(before);
  });

  it('refuses the whole batch with 422 naming the item when one item is invalid', async () => {
    const before = await count();
    const events = Array.from({ length: 5 }, (_, i) => ({
      type: 'bill_payments.paid',
      payload: { amount: i + 1 },
    }));
    events[3] = { type: 'bill_payments.paid', payload: { amount: 0 } };
    const r = await app.api<ErrorAnswer>('POST', '/v1/tenants/acme/events/batch', { events });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('payload_invalid');
    expect(r.body.error.details?.path).toBe('events[3].payload.amount');
    expect(await count()).toBe(before);

    const unknown = await app.api<ErrorAnswer>('POST', '/v1/tenants/acme/events/batch', {
      events: [
        { type: 'bill_payments.paid', payload: { amount: 1 } },
        { type: 'nope', payload: {} },
      ],
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({
      code: 'unknown_event_type',
      details: { path: 'events[1].type' },
    });

    const twice = await app.api<ErrorAnswer>('POST', '/v1/tenants/acme/events/batch', {
      events: [
        { type: 'bill_payments.failed', id: 'same', payload: {} },
        { type: 'bill_payments.failed', id: 'same', payload: {} },
      ],
    });
    expect(twice.status).toBe(422);
    expect(twice.body.error).toMatchObject({ code: 'duplicate_id', details: { path: 'events[1].id' } });

    const empty = await app.api<ErrorAnswer>('POST', '/v1/tenants/acme/events/batch', { events: [] });
    expect(empty.status).toBe(422);
    expect(await count()).toBe(before);
  });

  it('answers 413 above the batch body limit, and for a payload above the payload limit, naming it', async () => {
    const before = await count();
    const big = Array.from({ length: 150 }, () => ({
      type: 'bill_payments.failed',
      payload: { pad: 'x'.repeat(1000) },
    }));
    const r = await app.api<ErrorAnswer>('POST', '/v1/tenants/acme/events/batch', { events: big });
    expect(r.status).toBe(413);
    const oneTooBig = await app.api<ErrorAnswer>('POST', '/v1/tenants/acme/events/batch', {
      events: [
        { type: 'bill_payments.failed', payload: {} },
        { type: 'bill_payments.failed', payload: { pad: 'x'.repeat(9000) } },
      ],
    });
    expect(oneTooBig.status).toBe(413);
    expect(oneTooBig.body.error).toMatchObject({
      code: 'payload_too_large',
      details: { path: 'events[1].payload' },
    });
    expect(await count()).toBe(before);
  });

  it('refuses tenant tokens (publishing is the operator’s) and unknown tenants', async () => {
    const token = await app.api<{ token: string }>('POST', '/v1/tenants/acme/tokens', { name: 't' });
    const r = await app.api<ErrorAnswer>(
      'POST',
      '/v1/tenants/acme/events/batch',
      { events: [{ type: 'bill_payments.failed', payload: {} }] },
      { token: token.body.token },
    );
    expect(r.status).toBe(403);
    const missing = await app.api<ErrorAnswer>('POST', '/v1/tenants/nobody/events/batch', {
      events: [{ type: 'bill_payments.failed', payload: {} }],
    });
    expect(missing.status).toBe(404);
  });

  it('takes 1,000 items in one request', async () => {
    const before = await count();
    const events = Array.from({ length: 1000 }, (_, i) => ({
      type: 'bill_payments.failed',
      id: `k-${i}`,
      payload: { i },
    }));
    const r = await app.api<BatchAnswer>('POST', '/v1/tenants/acme/events/batch', { events });
    expect(r.status).toBe(202);
    expect(r.body.events).toHaveLength(1000);
    expect(r.body.events[999]).toEqual({ id: 'k-999', deliveries: 1, duplicate: false });
    expect(await count()).toBe(before + 1000);
    const over = await app.api<ErrorAnswer>('POST', '/v1/tenants/acme/events/batch', {
      events: [...events, { type: 'bill_payments.failed', payload: {} }],
    });
    expect(over.status).toBe(422);
  });
});
