// The OpenAPI 3.1 `webhooks` section: what a receiver gets from each wire profile
// (src/delivery/profiles/), its headers and body, and what its answer means to Tidings.
// Standard Webhooks headers are sent on every profile, so one verifier fits all of them.
import { PROFILE_NAMES } from '../../delivery/profiles/index.js';
import { USER_AGENT } from '../../delivery/request.js';

type Json = Record<string, unknown>;

const HEADERS: Json[] = [
  {
    name: 'webhook-id',
    in: 'header',
    required: true,
    description:
      "The event's id: the same on every retry and on every endpoint that gets the event. Keep the ids you have processed and skip a repeat (delivery is at least once).",
    schema: { type: 'string' },
    example: 'msg_01JD8Z5R6T3N7Q2W9X4Y1B0C5V',
  },
  {
    name: 'webhook-timestamp',
    in: 'header',
    required: true,
    description:
      'Unix seconds when this attempt was signed. Refuse a delivery whose timestamp is more than 5 minutes from your clock: it is a replay.',
    schema: { type: 'string', pattern: '^[0-9]+$' },
    example: '1732450000',
  },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    description:
      'Space-separated signatures of `{webhook-id}.{webhook-timestamp}.{raw body}`: `v1,` + base64 HMAC-SHA256 keyed with the base64-decoded part of the `whsec_` secret, or `v1a,` + base64 Ed25519 checked with the `whpk_` public key. During a secret rotation there is one per live secret; accept the delivery when any one verifies.',
    schema: { type: 'string', pattern: '^v1a?,[A-Za-z0-9+/=]+( v1a?,[A-Za-z0-9+/=]+)*$' },
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  },
  {
    name: 'webhook-sequence',
    in: 'header',
    required: false,
    description:
      'On endpoints with ordering `key` or `endpoint`: the number of this delivery within its ordering key, from 1, without gaps. A jump means one is still on its way (it is retried before the next is sent).',
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  {
    name: 'user-agent',
    in: 'header',
    required: true,
    schema: { type: 'string' },
    example: USER_AGENT,
  },
];

const PAYLOAD = {
  description: 'The payload exactly as the operator published it (key order, spaces and numbers as written)',
};

const BODIES: Record<string, { summary: string; description: string; schema: Json; example: unknown }> = {
  standard: {
    summary: 'standard: the Standard Webhooks envelope',
    description: 'The default profile.',
    schema: {
      type: 'object',
      required: ['type', 'timestamp', 'data'],
      properties: {
        type: { type: 'string', description: 'The event type, e.g. bill_payments.paid' },
        timestamp: { type: 'string', format: 'date-time', description: 'When the event was published' },
        data: PAYLOAD,
      },
    },
    example: {
      type: 'bill_payments.paid',
      timestamp: '2026-11-24T12:00:00.000Z',
      data: { bill_payment_id: 'bp_123', amount_cents: 12500 },
    },
  },
  raw: {
    summary: 'raw: the payload alone',
    description: 'The body is the published payload, byte for byte; the type is not in the body.',
    schema: PAYLOAD,
    example: { bill_payment_id: 'bp_123', amount_cents: 12500 },
  },
  highline: {
    summary: 'highline: topic, event and data',
    description:
      'The type `bill_payments.paid` is split at its first dot into topic `bill_payments` and event `paid`.',
    schema: {
      type: 'object',
      required: ['topic', 'event', 'data'],
      properties: { topic: { type: 'string' }, event: { type: 'string' }, data: PAYLOAD },
    },
    example: { topic: 'bill_payments', event: 'paid', data: { bill_payment_id: 'bp_123' } },
  },
  canopy: {
    summary: 'canopy: event and data, signed in the body',
    description:
      '`hmac_signature` is base64 HMAC-SHA256 of the `data` JSON text exactly as it appears in the body (everything between `"data":` and `,"hmac_signature":`), keyed with the same bytes as the `v1` signature. During a rotation only the newest secret signs here.',
    schema: {
      type: 'object',
      required: ['event', 'data', 'hmac_signature'],
      properties: {
        event: { type: 'string', description: 'The event type' },
        data: PAYLOAD,
        hmac_signature: { type: 'string', description: 'base64 HMAC-SHA256 of the data text' },
      },
    },
    example: {
      event: 'account_delinquency',
      data: { account_id: 'acc_1', days_past_due: 5 },
      hmac_signature: 'y0P0g9JcXbN6u7bW2m7m1Ih0bG3xq3Rr1o8l0PiY0r4=',
    },
  },
  billie: {
    summary: "billie: a flat body of the payload's fields",
    description:
      "`created_at` and `event` first, then the payload's own top-level members (a payload member named `event` is left out). Billie receivers usually check a static API-key header the tenant chose (`headers` on the endpoint, e.g. `X-Api-Key`), sent beside the Standard Webhooks headers.",
    schema: {
      type: 'object',
      required: ['created_at', 'event'],
      properties: {
        created_at: {
          type: 'string',
          description: "The payload's own created_at, else when the event was published",
        },
        event: { type: 'string', description: 'The event type' },
      },
      additionalProperties: true,
    },
    example: {
      created_at: '2026-11-24T12:00:00.000Z',
      event: 'order_paid_out',
      order_id: 'o_1',
      amount: 100,
    },
  },
};

const RESPONSES: Json = {
  '2XX': { description: 'Received. Answer within the timeout (15 s by default); queue slow work.' },
  '410': {
    description: 'Gone: Tidings disables the endpoint at once (its events are kept for when it is enabled).',
  },
  '429': {
    description:
      'Too many: retried after `Retry-After` (seconds or an HTTP date; 503 too), kept within the retry schedule. Any other answer, a redirect or a timeout is retried on the schedule.',
    headers: { 'retry-after': { schema: { type: 'string' } } },
  },
};

/** One entry per wire profile, named after it. */
export function webhooksSection(): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const name of PROFILE_NAMES) {
    const body = BODIES[name];
    if (!body) throw new Error(`webhooks.ts has no description of the "${name}" profile`);
    out[name] = {
      post: {
        operationId: `${name}Webhook`,
        summary: body.summary,
        description: `${body.description} Every profile carries the Standard Webhooks headers; see docs/receiving.md.`,
        tags: ['webhooks'],
        security: [],
        parameters: HEADERS,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: body.schema, example: body.example } },
        },
        responses: RESPONSES,
      },
    };
  }
  return out;
}
