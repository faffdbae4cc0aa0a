// billie-pad-webhooks.md served through the real API and worker: the flat body in the
// document's field order, created_at fixed at publish time when the producer leaves it out,
// and the API key in the header each merchant chose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  at,
  BILLIE_FIELDS,
  createEndpoint,
  type Endpoint,
  loadCatalog,
  publishRaw,
  settled,
  verifyStandardWebhooks,
} from './support.js';

// The document's three examples of "sending the Billie API Key via headers".
const KEY_HEADERS = {
  '/basic': ['Authorization', 'Basic THE_API_KEY'],
  '/x-api-key': ['X-Api-Key', 'THE_API_KEY'],
  '/custom': ['X-Another-Custom-Header', 'THE_API_KEY'],
} as const;
type KeyPath = keyof typeof KEY_HEADERS;

describe.each(engines())('Billie PAD (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const endpoints = new Map<KeyPath, Endpoint>();

  beforeAll(async () => {
    [app, rx] = await Promise.all([startApp(engine), startReceiver()]);
    await loadCatalog(app, 'billie');
    expect((await app.api('POST', '/v1/tenants', { id: 'shop-42', name: 'Shop 42' })).status).toBe(201);
    for (const [path, [name, value]] of Object.entries(KEY_HEADERS) as [
      KeyPath,
      readonly [string, string],
    ][]) {
      endpoints.set(
        path,
        await createEndpoint(app, 'shop-42', {
          url: `${rx.url}${path}`,
          profile: 'billie',
          headers: { [name]: value },
        }),
      );
    }
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('sends the flat body of the document, created_at from the publish time, the key in the chosen header', async () => {
    // The document's body format: created_at, event, order_id, order_uuid, invoice_uuid,
    // amount (optional), open_amount (optional).
    const fields =
      '"order_id":"ORD-1001","order_uuid":"8b9c6f4e-0d6e-4b36-9a53-1b8f0f3c9a11","invoice_uuid":"4a5f1f9e-8c57-4b2b-b6c9-0c2e7b3f5d22","amount":"150.00","open_amount":"49.90"';
    const pub = await publishRaw(app, 'shop-42', `{"type":"payment","payload":{${fields}}}`);
    expect(pub.deliveries).toBe(3);
    await settled(app, 'shop-42', pub.id);
    const event = await app.api<{ created_at: string }>('GET', `/v1/tenants/shop-42/events/${pub.id}`);

    for (const [path, [name, value]] of Object.entries(KEY_HEADERS) as [
      KeyPath,
      readonly [string, string],
    ][]) {
      const got = at(rx.requests, path);
      expect(got, path).toHaveLength(1);
      const r = got[0]!;
      expect(r.body).toBe(`{"created_at":"${event.body.created_at}","event":"payment",${fields}}`);
      expect(Object.keys(JSON.parse(r.body))).toEqual(BILLIE_FIELDS);
      expect(r.headers['content-type']).toBe('application/json');
      // The merchant's chosen header carries the key; the other two names are not sent.
      expect(r.headers[name.toLowerCase()]).toBe(value);
      for (const [other] of Object.values(KEY_HEADERS)) {
        if (other !== name) expect(r.headers[other.toLowerCase()], `${path} ${other}`).toBeUndefined();
      }
      verifyStandardWebhooks(r, endpoints.get(path)!.secret);
    }
  });

  it('keeps the created_at the producer gave; the optional amounts may be left out', async () => {
    const before = rx.requests.length;
    const pub = await publishRaw(
      app,
      'shop-42',
      '{"type":"invoice_late","payload":{"order_id":"ORD-7","created_at":"2024-04-30T23:59:00+02:00","order_uuid":"u-7","invoice_uuid":"i-7"}}',
    );
    await settled(app, 'shop-42', pub.id);
    const bodies = new Set(rx.requests.slice(before).map((r) => r.body));
    expect([...bodies]).toEqual([
      '{"created_at":"2024-04-30T23:59:00+02:00","event":"invoice_late","order_id":"ORD-7","order_uuid":"u-7","invoice_uuid":"i-7"}',
    ]);
  });

  it('a retry carries the same created_at as the first attempt', async () => {
    let failed = 0;
    rx.setResponder((r) => (r.path === '/custom' && failed++ === 0 ? { status: 503 } : { status: 200 }));
    try {
      const before = rx.requests.length;
      const pub = await publishRaw(
        app,
        'shop-42',
        '{"type":"dunning_letter_1","payload":{"order_id":"ORD-9","order_uuid":"u-9","invoice_uuid":"i-9","open_amount":"20.00"}}',
      );
      await settled(app, 'shop-42', pub.id);
      const custom = at(rx.requests.slice(before), '/custom');
      expect(custom).toHaveLength(2);
      expect(custom[1]!.body).toBe(custom[0]!.body);
      expect(JSON.parse(custom[0]!.body)).toMatchObject({ event: 'dunning_letter_1', open_amount: '20.00' });
      for (const r of custom) verifyStandardWebhooks(r, endpoints.get('/custom')!.secret);
    } finally {
      rx.setResponder(() => ({ status: 200 }));
    }
  });

  it('refuses amounts that are not strings and bodies without the order fields', async () => {
    for (const payload of [
      { order_id: 'O', order_uuid: 'u', invoice_uuid: 'i', amount: 150 },
      { order_id: 'O', order_uuid: 'u' },
    ]) {
      const res = await app.api<{ error: { code: string; message: string } }>(
        'POST',
        '/v1/tenants/shop-42/events',
        { type: 'payment', payload },
      );
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('payload_invalid');
    }
  });
});
