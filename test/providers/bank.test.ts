// bank-payment-webhooks.md's two example setups, through the real API and worker:
// "multiple event types covering one company are subscribed to a single URL" and "each event
// type covering a subset of bank accounts is subscribed to a unique URL". Bank accounts are
// channels (bank_account:<id>); an event about an account nobody subscribed to is not
// delivered at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  at,
  createEndpoint,
  type Endpoint,
  loadCatalog,
  type Published,
  publishRaw,
  settled,
  verifyStandardWebhooks,
} from './support.js';

const PER_TYPE = ['IncomingPaymentProcessed', 'OutgoingPaymentProcessed', 'MissingFunding'];

describe.each(engines())('bank payments (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  let company: Endpoint;
  let companyRaw: Endpoint;
  const perType = new Map<string, Endpoint>();

  beforeAll(async () => {
    [app, rx] = await Promise.all([startApp(engine), startReceiver()]);
    await loadCatalog(app, 'bank-payments');
    for (const [id, name] of [
      ['globex', 'Globex Ltd'],
      ['initech', 'Initech GmbH'],
    ]) {
      expect((await app.api('POST', '/v1/tenants', { id, name })).status).toBe(201);
    }
    // Example 1: several types of one company, one URL, company level (no channels).
    company = await createEndpoint(app, 'globex', {
      url: `${rx.url}/globex/payments`,
      event_types: [
        'IncomingPaymentProcessed',
        'OutgoingPaymentRejected',
        'OutgoingPaymentProcessed',
        'MissingFunding',
        'Reversed',
      ],
    });
    // The same company's archive wants every type, as the bare payload.
    companyRaw = await createEndpoint(app, 'globex', { url: `${rx.url}/globex/archive`, profile: 'raw' });
    // Example 2: each type for a subset of bank accounts, each at its own URL.
    for (const t of PER_TYPE) {
      perType.set(
        t,
        await createEndpoint(app, 'initech', {
          url: `${rx.url}/initech/${t}`,
          event_types: [t],
          channels: ['bank_account:BA-1', 'bank_account:BA-2'],
        }),
      );
    }
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  const publish = (tenant: string, type: string, channels: string[], payload: string): Promise<Published> =>
    publishRaw(app, tenant, `{"type":"${type}","channels":${JSON.stringify(channels)},"payload":${payload}}`);

  it('example 1: one URL for many types at company level, whatever the account', async () => {
    const payloads = {
      incoming: '{"paymentId": "7781", "bankAccountId": "GB-1", "amount": "250.00", "currency": "EUR"}',
      missing: '{"paymentId": "991", "bankAccountId": "GB-9", "amount": "1200.00", "currency": "GBP"}',
      booked: '{"paymentId": "992", "bankAccountId": "GB-1", "amount": 12.50}',
    };
    const incoming = await publish(
      'globex',
      'IncomingPaymentProcessed',
      ['bank_account:GB-1'],
      payloads.incoming,
    );
    const missing = await publish('globex', 'MissingFunding', ['bank_account:GB-9'], payloads.missing);
    const untagged = await publish('globex', 'Reversed', [], '{"paymentId": "993"}');
    // Not among the five types of the single URL: only the archive (all types) gets it.
    const booked = await publish('globex', 'IncomingPaymentBooked', ['bank_account:GB-1'], payloads.booked);
    expect([incoming, missing, untagged, booked].map((p) => p.deliveries)).toEqual([2, 2, 2, 1]);
    for (const p of [incoming, missing, untagged, booked]) await settled(app, 'globex', p.id);

    const single = at(rx.requests, '/globex/payments');
    expect(single.map((r) => r.headers['webhook-id']).sort()).toEqual(
      [incoming.id, missing.id, untagged.id].sort(),
    );
    const event = await app.api<{ created_at: string }>('GET', `/v1/tenants/globex/events/${incoming.id}`);
    // The standard envelope; data exactly as the bank published it.
    expect(single.find((r) => r.headers['webhook-id'] === incoming.id)!.body).toBe(
      `{"type":"IncomingPaymentProcessed","timestamp":"${event.body.created_at}","data":${payloads.incoming}}`,
    );
    for (const r of single) verifyStandardWebhooks(r, company.secret);

    const archive = at(rx.requests, '/globex/archive');
    expect(archive).toHaveLength(4);
    const bookedGot = archive.find((r) => r.headers['webhook-id'] === booked.id)!;
    expect(bookedGot.body).toBe(payloads.booked);
    for (const r of archive) verifyStandardWebhooks(r, companyRaw.secret);
  });

  it('example 2: one URL per type for a subset of bank accounts; other accounts get nothing', async () => {
    const before = rx.requests.length;
    const ba1 = await publish(
      'initech',
      'IncomingPaymentProcessed',
      ['bank_account:BA-1'],
      '{"paymentId":"7781","bankAccountId":"BA-1","amount":"250.00","currency":"EUR"}',
    );
    const ba2 = await publish(
      'initech',
      'OutgoingPaymentProcessed',
      ['bank_account:BA-2'],
      '{"paymentId":"7790","bankAccountId":"BA-2","amount":"80.00","currency":"EUR"}',
    );
    const both = await publish(
      'initech',
      'MissingFunding',
      ['bank_account:BA-1', 'bank_account:BA-2'],
      '{"paymentId":"7791"}',
    );
    expect([ba1.deliveries, ba2.deliveries, both.deliveries]).toEqual([1, 1, 1]);

    // Nobody subscribed to BA-3, nor to company-level events, nor to Reversed: no delivery at all.
    const unsubscribed = [
      await publish('initech', 'IncomingPaymentProcessed', ['bank_account:BA-3'], '{"paymentId":"7782"}'),
      await publish('initech', 'IncomingPaymentProcessed', [], '{"paymentId":"7783"}'),
      await publish('initech', 'Reversed', ['bank_account:BA-1'], '{"paymentId":"7784"}'),
    ];
    for (const p of unsubscribed) {
      expect(p.deliveries).toBe(0);
      const detail = await app.api<{ deliveries: unknown[] }>('GET', `/v1/tenants/initech/events/${p.id}`);
      expect(detail.body.deliveries).toEqual([]);
    }

    for (const p of [ba1, ba2, both]) await settled(app, 'initech', p.id);
    const got = rx.requests.slice(before);
    expect(got.map((r) => [r.path, r.headers['webhook-id']]).sort()).toEqual(
      [
        ['/initech/IncomingPaymentProcessed', ba1.id],
        ['/initech/OutgoingPaymentProcessed', ba2.id],
        ['/initech/MissingFunding', both.id],
      ].sort(),
    );
    for (const r of got) {
      const type = r.path.split('/')[2]!;
      expect(verifyStandardWebhooks(r, perType.get(type)!.secret)).toMatchObject({ type });
    }
  });
});
