// What was sent is kept: for every wire profile, the body an attempt kept hashes to exactly
// what a real receiver got, and stays so after the endpoint's secret is rotated (the old body
// is shown as it was sent, never built again with the new secret).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_NAMES } from '../../src/delivery/profiles/index.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { settled } from '../providers/support.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

interface SentBody {
  body: string;
  sha256: string;
  rebuilt: boolean;
  attempt: number | null;
}

describe.each(engines())('kept request bodies (%s)', (engine) => {
  let app: TestApp;
  let receiver: Receiver;
  // One endpoint per profile (and an Ed25519-signed standard one), each at its own path.
  const endpoints: { id: string; path: string }[] = [];

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 200 }));
    app = await startApp(engine);
    expect((await app.api('PUT', '/v1/event-types/bill_payments.paid', { description: 'paid' })).status).toBe(
      201,
    );
    expect((await app.api('POST', '/v1/tenants', { id: 'acme', name: 'Acme' })).status).toBe(201);
    const specs = [
      ...PROFILE_NAMES.map((profile) => ({ profile, signing: 'hmac' })),
      { profile: 'standard', signing: 'ed25519' },
    ];
    for (const s of specs) {
      const path = `/${s.profile}-${s.signing}`;
      const res = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
        url: receiver.url + path,
        profile: s.profile,
        signing: s.signing,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      endpoints.push({ id: res.body.id, path });
    }
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  /** Publishes one event, waits for every endpoint to get it; the received body per endpoint. */
  async function deliverOne(amount: number) {
    const pub = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', {
      type: 'bill_payments.paid',
      // The number is written as the producer wrote it (trailing zero kept on the wire).
      payload: { amount, memo: 'café ✓', customer: { name: 'Ana' } },
    });
    expect(pub.status).toBe(202);
    const deliveries = await settled(app, 'acme', pub.body.id);
    const received = new Map<string, string>();
    for (const e of endpoints) {
      const got = receiver.requests.filter(
        (r) => r.path === e.path && r.headers['webhook-id'] === pub.body.id,
      );
      expect(got.length, e.path).toBe(1);
      received.set(e.id, got[0]!.body);
    }
    return {
      eventId: pub.body.id,
      deliveries: deliveries as unknown as { id: string; endpoint_id: string }[],
      received,
    };
  }

  async function kept(deliveryId: string): Promise<SentBody> {
    const res = await app.api<SentBody>('GET', `/v1/tenants/acme/deliveries/${deliveryId}/request-body`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  it("keeps the exact bytes each profile sent, and the attempt's hash of them", async () => {
    const first = await deliverOne(125.5);
    for (const d of first.deliveries) {
      const got = first.received.get(d.endpoint_id)!;
      const body = await kept(d.id);
      expect(body.rebuilt).toBe(false);
      expect(body.attempt).toBe(1);
      expect(body.body).toBe(got);
      expect(body.sha256).toBe(sha256(got));
      const detail = await app.api<{ attempt_log: { body_sha256: string | null }[] }>(
        'GET',
        `/v1/tenants/acme/deliveries/${d.id}`,
      );
      expect(detail.body.attempt_log.map((a) => a.body_sha256)).toEqual([sha256(got)]);
    }

    // Rotate every endpoint's secret: the canopy body (its hmac_signature) would now be built
    // differently, but what was sent stays what was sent.
    for (const e of endpoints) {
      const r = await app.api('POST', `/v1/tenants/acme/endpoints/${e.id}/secret/rotate`, {});
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
    for (const d of first.deliveries) {
      const got = first.received.get(d.endpoint_id)!;
      expect((await kept(d.id)).body).toBe(got);
      expect((await kept(d.id)).sha256).toBe(sha256(got));
    }

    // And what is sent after the rotation is kept as sent too.
    const second = await deliverOne(7);
    for (const d of second.deliveries) {
      const got = second.received.get(d.endpoint_id)!;
      expect((await kept(d.id)).sha256).toBe(sha256(got));
    }
    // The canopy body depends on the secret: after the rotation the same payload is signed
    // with the new key, so a body rebuilt now would not be the one that was sent.
    const canopy = endpoints.find((e) => e.path === '/canopy-hmac')!;
    const signature = (body: string) => (JSON.parse(body) as { hmac_signature: string }).hmac_signature;
    const oldKept = (await kept(first.deliveries.find((d) => d.endpoint_id === canopy.id)!.id)).body;
    expect(signature(oldKept)).toBe(signature(first.received.get(canopy.id)!));
  });

  it('answers a delivery not attempted yet with the body its next attempt sends (rebuilt)', async () => {
    const res = await app.api<{ id: string }>('POST', '/v1/tenants/acme/endpoints', {
      url: `${receiver.url}/later`,
      disabled: true,
      event_types: ['bill_payments.paid'],
    });
    expect(res.status).toBe(201);
    const pub = await app.api<{ id: string }>('POST', '/v1/tenants/acme/events', {
      type: 'bill_payments.paid',
      payload: { amount: 1 },
    });
    const ev = await app.api<{ deliveries: { id: string; endpoint_id: string }[] }>(
      'GET',
      `/v1/tenants/acme/events/${pub.body.id}`,
    );
    const waiting = ev.body.deliveries.find((d) => d.endpoint_id === res.body.id)!;
    const body = await kept(waiting.id);
    expect(body.rebuilt).toBe(true);
    expect(body.attempt).toBeNull();
    expect(body.sha256).toBe(sha256(body.body));
  });
});
