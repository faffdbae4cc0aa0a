// Payload filters through the real API and worker: one endpoint per filter, four payloads
// published, and each endpoint's receiver path gets exactly the payloads its filter matches
// (every operator, nested paths, arrays, type mismatches); a filtered-out event creates no
// delivery; bad filters are refused with 422 naming the operator or path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const PAYLOADS = [
  {
    n: 0,
    amount_cents: 150000,
    currency: 'EUR',
    customer: { country: 'FR', tier: 'gold' },
    lines: [
      { sku: 'A', qty: 1 },
      { sku: 'B', qty: 5 },
    ],
    tags: ['vip', 'new'],
    note: null,
  },
  {
    n: 1,
    amount_cents: 50000,
    currency: 'USD',
    customer: { country: 'US' },
    lines: [{ sku: 'C', qty: 2 }],
    tags: [],
  },
  {
    n: 2,
    amount_cents: '150000',
    currency: 'GBP',
    customer: { country: 'FR', tier: 'silver' },
    lines: [],
    tags: ['new'],
    note: 'x',
  },
  { n: 3, currency: 'EUR', customer: null },
];

/** Each filter and the payloads (by n) it lets through. */
const CASES: [string, Record<string, unknown> | null, number[]][] = [
  ['no filter', null, [0, 1, 2, 3]],
  ['implicit $eq', { currency: 'EUR' }, [0, 3]],
  ['$eq on a nested path', { 'customer.country': { $eq: 'FR' } }, [0, 2]],
  ['$neq (other types and missing fields count as not equal)', { currency: { $neq: 'EUR' } }, [1, 2]],
  ['$in', { currency: { $in: ['EUR', 'USD'] } }, [0, 1, 3]],
  ['$nin', { currency: { $nin: ['EUR', 'USD'] } }, [2]],
  ['$gt: a string "150000" is not a number', { amount_cents: { $gt: 100000 } }, [0]],
  ['$gte', { amount_cents: { $gte: 50000 } }, [0, 1]],
  ['$lt', { amount_cents: { $lt: 100000 } }, [1]],
  ['$lte', { amount_cents: { $lte: 150000 } }, [0, 1]],
  ['$gt on strings', { currency: { $gt: 'F' } }, [1, 2]],
  ['$exists: true (null is present)', { note: { $exists: true } }, [0, 2]],
  ['$exists: false', { amount_cents: { $exists: false } }, [3]],
  ['$eq null: null or missing', { note: null }, [0, 1, 3]],
  ['a path through a list: any element', { 'lines.qty': { $gte: 5 } }, [0]],
  ['a list index', { 'lines.0.sku': 'C' }, [1]],
  ['a list of scalars', { tags: 'new' }, [0, 2]],
  ['$and', { $and: [{ currency: 'EUR' }, { amount_cents: { $gt: 1 } }] }, [0]],
  ['$or', { $or: [{ currency: 'GBP' }, { 'customer.tier': 'gold' }] }, [0, 2]],
  ['$not of a filter', { $not: { currency: 'EUR' } }, [1, 2]],
  ['$not of operators', { amount_cents: { $not: { $gt: 100000 } } }, [1, 2, 3]],
  ['a nested object is a path prefix', { customer: { country: 'FR', tier: 'silver' } }, [2]],
  ['the issue example', { amount_cents: { $gte: 100000 }, currency: { $in: ['EUR', 'USD'] } }, [0]],
];

interface Ep {
  id: string;
  filter: Record<string, unknown> | null;
}

describe.each(engines())('payload filters (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const T = '/v1/tenants/shop';

  beforeAll(async () => {
    [app, rx] = await Promise.all([startApp(engine), startReceiver()]);
    expect((await app.api('PUT', '/v1/event-types/invoice.paid', { default_enabled: true })).status).toBe(
      201,
    );
    expect((await app.api('PUT', '/v1/event-types/invoice.void', { default_enabled: true })).status).toBe(
      201,
    );
    expect((await app.api('POST', '/v1/tenants', { id: 'shop', name: 'Shop' })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('delivers to each endpoint exactly the events its filter matches', async () => {
    for (const [i, [, filter]] of CASES.entries()) {
      const r = await app.api<Ep>('POST', `${T}/endpoints`, {
        url: `${rx.url}/case-${i}`,
        event_types: ['invoice.paid'],
        ...(filter ? { filter } : {}),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.filter).toEqual(filter);
    }
    // Types and channels come first: this endpoint's filter matches everything, its type list nothing.
    const other = await app.api('POST', `${T}/endpoints`, {
      url: `${rx.url}/other-type`,
      event_types: ['invoice.void'],
      filter: { currency: { $exists: true } },
    });
    expect(other.status).toBe(201);

    let expectedTotal = 0;
    for (const p of PAYLOADS) {
      const r = await app.api<{ deliveries: number }>('POST', `${T}/events`, {
        type: 'invoice.paid',
        payload: p,
      });
      expect(r.status).toBe(202);
      // A filtered-out event creates no delivery at all.
      const want = CASES.filter(([, , ns]) => ns.includes(p.n)).length;
      expect(r.body.deliveries).toBe(want);
      expectedTotal += want;
    }
    await rx.waitFor(expectedTotal);
    // Nothing else comes later.
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.requests).toHaveLength(expectedTotal);
    for (const [i, [name, , ns]] of CASES.entries()) {
      const got = rx.requests
        .filter((r) => r.path === `/case-${i}`)
        .map((r) => (JSON.parse(r.body) as { data: { n: number } }).data.n)
        .sort();
      expect(got, name).toEqual(ns);
    }
    expect(rx.requests.some((r) => r.path === '/other-type')).toBe(false);
  });

  it('refuses bad filters with 422 naming the operator or path', async () => {
    const bad: [unknown, string][] = [
      [{ amount: { $regex: '^1' } }, 'amount.$regex'],
      [{ $nor: [{ a: 1 }] }, '$nor'],
      [{ 'a..b': 1 }, 'a..b'],
      [{ currency: { $in: 'EUR' } }, 'currency.$in'],
      [{ amount: { $gt: { x: 1 } } }, 'amount.$gt'],
      [{ amount: { $gt: true } }, 'amount.$gt'],
      [{ tags: ['a', 'b'] }, 'tags'],
      [{ amount: { $gt: 1, b: 2 } }, 'amount'],
      [{ $and: [] }, '$and'],
      [{ $or: [{ a: 1 }, { b: { $exists: 'yes' } }] }, '$or[1].b.$exists'],
      [{ a: { $not: 5 } }, 'a.$not'],
    ];
    for (const [filter, path] of bad) {
      const r = await app.api<{ error: { code: string; message: string; details: { path: string } } }>(
        'POST',
        `${T}/endpoints`,
        { url: `${rx.url}/bad`, filter },
      );
      expect(r.status, JSON.stringify(filter)).toBe(422);
      expect(r.body.error.code).toBe('invalid_filter');
      expect(r.body.error.details.path).toBe(path);
      expect(r.body.error.message).toContain(path);
    }
    const notObject = await app.api('POST', `${T}/endpoints`, { url: `${rx.url}/bad`, filter: [1] });
    expect(notObject.status).toBe(422);
  });

  it('a filter is changed and cleared with PATCH, and tried on a sample payload', async () => {
    const ep = await app.api<Ep>('POST', `${T}/endpoints`, {
      url: `${rx.url}/patched`,
      event_types: ['invoice.void'],
    });
    const path = `${T}/endpoints/${ep.body.id}`;
    const bad = await app.api('PATCH', path, { filter: { a: { $between: [1, 2] } } });
    expect(bad.status).toBe(422);
    const set = await app.api<Ep>('PATCH', path, { filter: { 'customer.country': 'FR' } });
    expect(set.status).toBe(200);
    expect(set.body.filter).toEqual({ 'customer.country': 'FR' });

    const test = (body: unknown) => app.api<{ matches: boolean }>('POST', `${path}/filter/test`, body);
    expect((await test({ payload: PAYLOADS[0] })).body.matches).toBe(true);
    expect((await test({ payload: PAYLOADS[1] })).body.matches).toBe(false);
    // A draft filter, not saved.
    expect((await test({ payload: PAYLOADS[1], filter: { currency: 'USD' } })).body.matches).toBe(true);
    const refused = await test({ payload: {}, filter: { a: { $foo: 1 } } });
    expect(refused.status).toBe(422);

    const before = rx.requests.length;
    const france = await app.api<{ deliveries: number }>('POST', `${T}/events`, {
      type: 'invoice.void',
      payload: PAYLOADS[2],
    });
    // /other-type (filter on currency, present) and /patched.
    expect(france.body.deliveries).toBe(2);
    const cleared = await app.api<Ep>('PATCH', path, { filter: null });
    expect(cleared.body.filter).toBeNull();
    const us = await app.api<{ deliveries: number }>('POST', `${T}/events`, {
      type: 'invoice.void',
      payload: PAYLOADS[1],
    });
    expect(us.body.deliveries).toBe(2);
    await rx.waitFor(before + 4);
    const patched = rx.requests.filter((r) => r.path === '/patched').map((r) => JSON.parse(r.body).data.n);
    expect(patched.sort()).toEqual([1, 2]);
  });

  it('a payload the filter cannot apply to is no match, never a failed publish', async () => {
    const ep = await app.api<Ep>('POST', `${T}/endpoints`, {
      url: `${rx.url}/odd`,
      event_types: ['invoice.void'],
      filter: { 'a.b.0.c': { $gt: 1 }, x: { $nin: [null] } },
    });
    expect(ep.status).toBe(201);
    for (const payload of [[1, 2], 'text', 7, null, { a: 'scalar' }, { a: [[{ b: 1 }]] }]) {
      const r = await app.api('POST', `${T}/events`, { type: 'invoice.void', payload });
      expect(r.status, JSON.stringify(payload)).toBe(202);
    }
    // JSON allows 1e200000, PostgreSQL's numeric does not: refused at ingest, never a failed statement.
    const huge = await app.api<{ error: { code: string } }>('POST', `${T}/events`, undefined, {
      rawBody: '{"type": "invoice.void", "payload": {"x": 1e200000, "note": "e12345 in a string is fine"}}',
    });
    expect(huge.status).toBe(422);
    expect(huge.body.error.code).toBe('payload_invalid');
    const fine = await app.api('POST', `${T}/events`, undefined, {
      rawBody: '{"type": "invoice.void", "payload": {"x": 1e2000, "note": "e12345"}}',
    });
    expect(fine.status).toBe(202);
  });
});
