// Every example payload of the reference documents, put on the wire by its profile and
// posted to a real receiver on 127.0.0.1; the checks read the body the receiver got.
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProfile, PROFILE_NAMES } from '../../src/delivery/profiles/index.js';
import { ProfileError } from '../../src/delivery/profiles/profileError.js';
import type { WireEvent } from '../../src/delivery/profiles/types.js';
import { hmacSignature, newSecret, secretKey } from '../../src/signing/hmac.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';
import {
  BILLIE_FIELDS,
  CANOPY_EXAMPLES,
  canopyExample,
  checkCanopySignature,
  HIGHLINE_TOPICS,
  highlineExample,
} from '../providers/support.js';

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
});

const secret = newSecret();
const key = secretKey(secret);
let seq = 0;

function wireEvent(
  type: string,
  payloadJson: string,
  createdAt = new Date('2024-03-05T06:07:08.009Z'),
): WireEvent {
  seq++;
  return { id: `msg_test${seq}`, type, createdAt, payloadJson };
}

/** Encodes with the profile, signs as the sender does, posts, and returns what arrived. */
async function deliver(profile: string, event: WireEvent): Promise<Received> {
  const body = getProfile(profile).encode(event, { signingKey: key });
  const timestamp = Math.floor(Date.now() / 1000);
  const before = receiver.requests.length;
  const res = await fetch(`${receiver.url}/hook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': event.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': hmacSignature(key, event.id, timestamp, body),
    },
    body,
  });
  expect(res.status).toBe(200);
  await receiver.waitFor(before + 1);
  return receiver.requests[before]!;
}

function headerRecord(r: Received): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** A stock Standard Webhooks verifier accepts what the receiver got. */
function expectStandardWebhooks(r: Received) {
  expect(() => new Webhook(secret).verify(r.body, headerRecord(r))).not.toThrow();
}

describe('highline profile', () => {
  // The document's examples are not valid JSON as printed (a comma after "metadata");
  // highlineExample drops that comma, the only change.
  for (const topic of HIGHLINE_TOPICS) {
    const { doc, data: payload } = highlineExample(topic);
    it(`reproduces the ${doc.topic} example (${doc.topic}.${doc.event})`, async () => {
      const got = await deliver('highline', wireEvent(`${doc.topic}.${doc.event}`, payload));
      const body = JSON.parse(got.body) as Record<string, unknown>;
      expect(body).toStrictEqual(doc);
      // Key order, at every level, as the document shows it.
      expect(Object.keys(body)).toEqual(['topic', 'event', 'data']);
      expect(JSON.stringify(body)).toBe(JSON.stringify(doc));
      // The payload text goes out as published, indentation included.
      expect(got.body).toContain(`"data":${payload}`);
      expectStandardWebhooks(got);
    });
  }

  it('splits the type at the first dot only', async () => {
    const got = await deliver('highline', wireEvent('bill_payments.needs_attention.v2', '{"a":1}'));
    expect(got.body).toBe('{"topic":"bill_payments","event":"needs_attention.v2","data":{"a":1}}');
  });

  it('refuses a type without a topic, saying why', () => {
    for (const type of ['paid', '.paid', 'bill_payments.']) {
      expect(() => getProfile('highline').encode(wireEvent(type, '{}'), { signingKey: key })).toThrow(
        /highline profile: event type ".*" is not named topic\.event/,
      );
    }
  });
});

// What a receiver does with nothing but the body and the key (see checkCanopySignature).
const receiverChecksCanopySignature = checkCanopySignature;

describe('canopy profile', () => {
  for (const name of CANOPY_EXAMPLES) {
    it(`reproduces the ${name} example, with a signature the receiver can recompute`, async () => {
      const { doc, data: payload } = canopyExample(name);
      expect(doc.event).toBe(name);
      const got = await deliver('canopy', wireEvent(name, payload));
      const body = JSON.parse(got.body) as { event: string; data: unknown; hmac_signature: string };
      // The document's examples disagree on key order (data first in three, event first in
      // three); the profile always sends event, data, hmac_signature.
      expect(Object.keys(body)).toEqual(['event', 'data', 'hmac_signature']);
      expect(body.event).toBe(doc.event);
      expect(body.data).toStrictEqual(doc.data);
      expect(JSON.stringify(body.data)).toBe(JSON.stringify(doc.data));
      // Same shape as the document's signature: base64 of 32 bytes.
      expect(Buffer.from(body.hmac_signature, 'base64')).toHaveLength(32);
      expect(doc.hmac_signature).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(body.hmac_signature).toMatch(/^[A-Za-z0-9+/]{43}=$/);

      const checked = receiverChecksCanopySignature(got.body, secretKey(secret));
      expect(checked.data).toBe(payload);
      expect(checked.signature).toBe(body.hmac_signature);
      expectStandardWebhooks(got);
    });
  }

  it('signs compact payloads so JSON.stringify(body.data) verifies too', async () => {
    const doc = canopyExample('payment_reversed').doc;
    const got = await deliver('canopy', wireEvent('payment_reversed', JSON.stringify(doc.data)));
    const body = JSON.parse(got.body) as { data: unknown; hmac_signature: string };
    const recomputed = createHmac('sha256', secretKey(secret))
      .update(JSON.stringify(body.data))
      .digest('base64');
    expect(recomputed).toBe(body.hmac_signature);
  });

  it('a changed data or another key does not verify', async () => {
    const got = await deliver('canopy', wireEvent('payment_reversed', '{"account_id":"can_3"}'));
    const tampered = got.body.replace('can_3', 'can_4');
    expect(() => receiverChecksCanopySignature(tampered, secretKey(secret))).toThrow();
    expect(() => receiverChecksCanopySignature(got.body, secretKey(newSecret()))).toThrow();
  });
});

describe('billie profile', () => {
  // billie-pad-webhooks.md gives the body's format, not an example; these follow it:
  // created_at, event, order_id, order_uuid, invoice_uuid, amount (optional), open_amount (optional).
  const at = new Date('2024-05-02T10:11:12.131Z');

  it('sends the flat body in the order the document lists, created_at from the publish time', async () => {
    const payload =
      '{"order_id":"ORD-1001","order_uuid":"8b9c6f4e-0d6e-4b36-9a53-1b8f0f3c9a11","invoice_uuid":"4a5f1f9e-8c57-4b2b-b6c9-0c2e7b3f5d22","amount":"150.00","open_amount":"49.90"}';
    const got = await deliver('billie', wireEvent('payment', payload, at));
    expect(got.body).toBe(
      '{"created_at":"2024-05-02T10:11:12.131Z","event":"payment","order_id":"ORD-1001","order_uuid":"8b9c6f4e-0d6e-4b36-9a53-1b8f0f3c9a11","invoice_uuid":"4a5f1f9e-8c57-4b2b-b6c9-0c2e7b3f5d22","amount":"150.00","open_amount":"49.90"}',
    );
    const body = JSON.parse(got.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(BILLIE_FIELDS);
    expect(typeof body['amount']).toBe('string');
    expectStandardWebhooks(got);
  });

  it('keeps the created_at the producer gave, moved to the front', async () => {
    const payload =
      '{"order_id":"ORD-7","created_at":"2024-04-30T23:59:00+02:00","order_uuid":"u-7","invoice_uuid":"i-7"}';
    const got = await deliver('billie', wireEvent('invoice_late', payload, at));
    expect(got.body).toBe(
      '{"created_at":"2024-04-30T23:59:00+02:00","event":"invoice_late","order_id":"ORD-7","order_uuid":"u-7","invoice_uuid":"i-7"}',
    );
  });

  it('treats a null created_at as not given', async () => {
    const got = await deliver(
      'billie',
      wireEvent(
        'order_waiting',
        '{"created_at":null,"order_id":"O","order_uuid":"u","invoice_uuid":"i"}',
        at,
      ),
    );
    expect(JSON.parse(got.body)).toStrictEqual({
      created_at: '2024-05-02T10:11:12.131Z',
      event: 'order_waiting',
      order_id: 'O',
      order_uuid: 'u',
      invoice_uuid: 'i',
    });
  });

  it('copies member values as written: numbers, nested key order, escapes', async () => {
    const payload = `{
      "order_id": "ORD-\\u00e9",
      "score": 1.50,
      "big": 12345678901234567890,
      "nested": {"2": "b", "1": "a", "z": [1.0, {"y": 2, "x": 1}]},
      "event": "ignored, the type names the event"
    }`;
    const got = await deliver('billie', wireEvent('order_shipped', payload, at));
    expect(got.body).toBe(
      '{"created_at":"2024-05-02T10:11:12.131Z","event":"order_shipped","order_id":"ORD-\\u00e9","score":1.50,"big":12345678901234567890,"nested":{"2": "b", "1": "a", "z": [1.0, {"y": 2, "x": 1}]}}',
    );
  });

  it('refuses a payload that is not a JSON object, saying why', () => {
    for (const payload of ['[1,2]', '"x"', '3', 'null', 'true']) {
      const encode = () => getProfile('billie').encode(wireEvent('payment', payload), { signingKey: key });
      expect(encode).toThrow(ProfileError);
      expect(encode).toThrow(
        /billie profile: the payload of event msg_test\d+ \(payment\) is not a JSON object/,
      );
    }
  });
});

describe('Standard Webhooks headers on every profile', () => {
  const samples: Record<string, WireEvent> = {
    standard: wireEvent('IncomingPaymentProcessed', '{"payment_id":"P-1","amount":"10.00"}'),
    raw: wireEvent('IncomingPaymentBooked', '{"payment_id":"P-2"}'),
    highline: wireEvent('bill_payments.paid', '{"bill_payment_id":"b","metadata":{"product_id":"p"}}'),
    canopy: wireEvent('payment_reversed', '{"account_id":"can_3"}'),
    billie: wireEvent('payment', '{"order_id":"O","order_uuid":"u","invoice_uuid":"i","amount":"1.00"}'),
  };

  it('covers every registered profile', () => {
    expect(Object.keys(samples).sort()).toEqual([...PROFILE_NAMES].sort());
  });

  for (const [profile, event] of Object.entries(samples)) {
    it(`${profile}: a stock verifier accepts the body and refuses a changed one`, async () => {
      const got = await deliver(profile, event);
      expectStandardWebhooks(got);
      expect(headerRecord(got)['webhook-id']).toBe(event.id);
      expect(() => new Webhook(secret).verify(`${got.body} `, headerRecord(got))).toThrow();
      expect(() => new Webhook(newSecret()).verify(got.body, headerRecord(got))).toThrow();
    });
  }
});
