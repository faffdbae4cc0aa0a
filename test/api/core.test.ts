import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

describe.each(engines())('publish and deliver (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  beforeAll(async () => {
    app = await startApp(engine);
    rx = await startReceiver();
    await app.api('PUT', '/v1/event-types/bill_payments.paid', { description: 'A bill was paid' });
    await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('delivers a published event, signed, with the payload text as published', async () => {
    const ep = await app.api<{ id: string; secret: string }>('POST', '/v1/tenants/acme/endpoints', {
      url: `${rx.url}/hook`,
    });
    expect(ep.status).toBe(201);
    const raw = '{"type":"bill_payments.paid","payload":{"b":1,"a":2.50,"n":12345678901234567890}}';
    const pub = await app.api<{ id: string; deliveries: number }>(
      'POST',
      '/v1/tenants/acme/events',
      undefined,
      { rawBody: raw },
    );
    expect(pub.status).toBe(202);
    expect(pub.body.deliveries).toBe(1);
    const [got] = await rx.waitFor(1);
    expect(got!.body).toContain('"data":{"b":1,"a":2.50,"n":12345678901234567890}');
    const wh = new Webhook(ep.body.secret);
    const verified = wh.verify(got!.body, {
      'webhook-id': String(got!.headers['webhook-id']),
      'webhook-timestamp': String(got!.headers['webhook-timestamp']),
      'webhook-signature': String(got!.headers['webhook-signature']),
    });
    expect(verified).toMatchObject({ type: 'bill_payments.paid' });
    expect(got!.headers['webhook-id']).toBe(pub.body.id);
  });
});
