// A richer catalog (issue 15): event types carry examples and a deprecation; a test event of
// any subscribed type goes out with the type's example, signed and formatted like a real one,
// and marked `tidings-test: true` (a real event is not).
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/catalog/catalogFile.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';

const SCHEMA = {
  type: 'object',
  required: ['invoice_id', 'amount_cents'],
  properties: { invoice_id: { type: 'string' }, amount_cents: { type: 'integer' } },
};
const EXAMPLE = { invoice_id: 'inv_1', amount_cents: 4200 };

interface ErrorBody {
  error: { code: string; message: string };
}

function verify(got: Received, secret: string): unknown {
  return new Webhook(secret).verify(got.body, {
    'webhook-id': String(got.headers['webhook-id']),
    'webhook-timestamp': String(got.headers['webhook-timestamp']),
    'webhook-signature': String(got.headers['webhook-signature']),
  });
}

describe.each(engines())('catalog examples, deprecation and typed test events (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const T = '/v1/tenants/acme';
  let ep: { id: string; secret: string };

  beforeAll(async () => {
    [app, rx] = await Promise.all([startApp(engine), startReceiver()]);
    expect((await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('stores examples and a deprecation, and refuses an example the schema does not allow', async () => {
    const put = await app.api('PUT', '/v1/event-types/invoice.paid', {
      description: 'An invoice was paid.',
      schema: SCHEMA,
      examples: [EXAMPLE],
    });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ examples: [EXAMPLE], deprecated: null });
    const old = await app.api('PUT', '/v1/event-types/invoice.settled', {
      description: 'Old name of invoice.paid.',
      deprecated: { reason: 'Use invoice.paid.' },
    });
    expect(old.body).toMatchObject({ examples: [], deprecated: { reason: 'Use invoice.paid.' } });
    const bad = await app.api<ErrorBody>('PUT', '/v1/event-types/invoice.bad', {
      schema: SCHEMA,
      examples: [EXAMPLE, { invoice_id: 7 }],
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_example');
    expect(bad.body.error.message).toContain('examples[1]');
    const list = await app.api<{ data: { name: string; deprecated: unknown }[] }>('GET', '/v1/event-types');
    expect(list.body.data.find((t) => t.name === 'invoice.settled')?.deprecated).toEqual({
      reason: 'Use invoice.paid.',
    });
  });

  it('a catalog file may carry examples and a deprecation, checked against the schema', () => {
    const file = (examples: unknown[]) =>
      JSON.stringify({
        name: 'c',
        description: '',
        event_types: [
          {
            name: 'invoice.paid',
            description: 'd',
            default_enabled: true,
            schema: SCHEMA,
            examples,
            deprecated: { reason: 'gone soon' },
          },
        ],
      });
    const ok = parseCatalog(file([EXAMPLE]), 'c.json');
    expect(ok.ok && ok.catalog.event_types[0]).toMatchObject({
      examples: [EXAMPLE],
      deprecated: { reason: 'gone soon' },
    });
    const refused = parseCatalog(file([{ amount_cents: 'x' }]), 'c.json');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.errors[0]).toMatch(
      /event_types\[0\]\.examples: examples\[0\] does not satisfy/,
    );
  });

  it('sends a test event of a subscribed type with its example, signed, marked as a test', async () => {
    const created = await app.api<{ id: string; secret: string }>('POST', `${T}/endpoints`, {
      url: `${rx.url}/hooks`,
      event_types: ['invoice.*'],
    });
    expect(created.status).toBe(201);
    ep = created.body;
    const sent = await app.api<{ type: string }>('POST', `${T}/endpoints/${ep.id}/test`, {
      type: 'invoice.paid',
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body.type).toBe('invoice.paid');
    const [got] = await rx.waitFor(1);
    expect(got!.headers['tidings-test']).toBe('true');
    expect(verify(got!, ep.secret)).toMatchObject({ type: 'invoice.paid', data: EXAMPLE });

    // The plain test event is marked too; a real event is not.
    expect((await app.api('POST', `${T}/endpoints/${ep.id}/test`)).status).toBe(202);
    expect((await app.api('POST', `${T}/events`, { type: 'invoice.paid', payload: EXAMPLE })).status).toBe(
      202,
    );
    const all = await rx.waitFor(3);
    const plain = all.find((r) => JSON.parse(r.body).type === 'tidings.test');
    expect(plain?.headers['tidings-test']).toBe('true');
    const real = all.filter((r) => r.headers['tidings-test'] === undefined);
    expect(real).toHaveLength(1);
    expect(verify(real[0]!, ep.secret)).toMatchObject({ type: 'invoice.paid', data: EXAMPLE });
  });

  it('refuses a type the endpoint does not take or the catalog does not have, and a tidings- header', async () => {
    expect((await app.api('PUT', '/v1/event-types/payout.sent', { default_enabled: true })).status).toBe(201);
    const notSub = await app.api<ErrorBody>('POST', `${T}/endpoints/${ep.id}/test`, { type: 'payout.sent' });
    expect(notSub.status).toBe(422);
    expect(notSub.body.error.code).toBe('not_subscribed');
    const unknown = await app.api<ErrorBody>('POST', `${T}/endpoints/${ep.id}/test`, { type: 'nope.nope' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe('unknown_event_type');
    const header = await app.api<ErrorBody>('PATCH', `${T}/endpoints/${ep.id}`, {
      headers: { 'Tidings-Test': 'false' },
    });
    expect(header.status).toBe(422);
    expect(header.body.error.code).toBe('reserved_header');
  });
});
