// highline-webhooks.md served through the real API and worker: every example payload
// published and received as the document shows it; clients on all topics or one topic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  at,
  createEndpoint,
  type Endpoint,
  HIGHLINE_TOPICS,
  highlineExample,
  loadCatalog,
  publishRaw,
  settled,
  verifyStandardWebhooks,
} from './support.js';

describe.each(engines())('Highline (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  let all: Endpoint;
  let billPayments: Endpoint;
  beforeAll(async () => {
    [app, rx] = await Promise.all([startApp(engine), startReceiver()]);
    await loadCatalog(app, 'highline');
    expect((await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme Payroll' })).status).toBe(201);
    all = await createEndpoint(app, 'acme', { url: `${rx.url}/all`, profile: 'highline' });
    billPayments = await createEndpoint(app, 'acme', {
      url: `${rx.url}/bill-payments`,
      profile: 'highline',
      event_types: ['bill_payments.*'],
    });
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it("delivers every example of the document as printed, to all topics; bill_payments.* gets its topic's only", async () => {
    const published: { id: string; topic: string }[] = [];
    for (const topic of HIGHLINE_TOPICS) {
      const ex = highlineExample(topic);
      const pub = await publishRaw(
        app,
        'acme',
        `{"type": "${ex.doc.topic}.${ex.doc.event}", "payload": ${ex.data}}`,
      );
      expect(pub.deliveries, topic).toBe(topic === 'bill_payments' ? 2 : 1);
      published.push({ id: pub.id, topic });
    }
    for (const p of published) await settled(app, 'acme', p.id);
    expect(rx.requests).toHaveLength(5);

    for (const [i, topic] of HIGHLINE_TOPICS.entries()) {
      const ex = highlineExample(topic);
      const got = at(rx.requests, '/all').find((r) => r.headers['webhook-id'] === published[i]!.id)!;
      expect(got, topic).toBeDefined();
      // The document's body, field for field and in its key order; data exactly as published.
      const body = JSON.parse(got.body) as Record<string, unknown>;
      expect(body).toStrictEqual(ex.doc);
      expect(JSON.stringify(body)).toBe(JSON.stringify(ex.doc));
      expect(got.body).toBe(`{"topic":"${ex.doc.topic}","event":"${ex.doc.event}","data":${ex.data}}`);
      expect(got.headers['content-type']).toBe('application/json');
      expect(verifyStandardWebhooks(got, all.secret)).toStrictEqual(ex.doc);
    }

    const topicOnly = at(rx.requests, '/bill-payments');
    expect(topicOnly).toHaveLength(1);
    const [got] = topicOnly;
    expect(got!.headers['webhook-id']).toBe(published[0]!.id);
    expect(JSON.parse(got!.body)).toStrictEqual(highlineExample('bill_payments').doc);
    verifyStandardWebhooks(got!, billPayments.secret);
    // Each endpoint signs with its own secret.
    expect(() => verifyStandardWebhooks(got!, all.secret)).toThrow();
  });

  it('refuses a payload without the metadata the document promises', async () => {
    const res = await app.api<{ error: { code: string; message: string } }>(
      'POST',
      '/v1/tenants/acme/events',
      {
        type: 'bill_payments.paid',
        payload: { bill_payment_id: 'da345...' },
      },
    );
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('payload_invalid');
    expect(res.body.error.message).toContain('/metadata');
  });
});
