// What the provider tests share: the shipped catalogs and reference examples, loading a
// catalog through the API, and checking a received request with a stock Standard Webhooks
// verifier.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { expect, vi } from 'vitest';
import { objectMembers } from '../../src/json/scan.js';
import type { TestApp } from '../helpers/app.js';
import type { Received } from '../helpers/receiver.js';

export function catalogPath(name: string): string {
  return fileURLToPath(new URL(`../../catalogs/${name}.json`, import.meta.url));
}

export function catalogText(name: string): string {
  return readFileSync(catalogPath(name), 'utf8');
}

/** A reference example, verbatim (test/fixtures/reference/). */
export function fixture(path: string): string {
  return readFileSync(new URL(`../fixtures/reference/${path}`, import.meta.url), 'utf8');
}

/** The exact text of a top-level member of a JSON object text. */
export function memberOf(json: string, key: string): string {
  const m = objectMembers(json)?.find((x) => x.key === key);
  if (!m) throw new Error(`no member ${key}`);
  return m.text;
}

/**
 * One of highline-webhooks.md's examples: the document's body (its stray comma after
 * "metadata" dropped, the only change) and its `data` text, which is what a producer publishes.
 */
export function highlineExample(topic: string) {
  const text = fixture(`highline/${topic}.json`).replace(/},(\s*})/, '}$1');
  const doc = JSON.parse(text) as { topic: string; event: string; data: Record<string, unknown> };
  return { text, doc, data: memberOf(text, 'data') };
}

export const HIGHLINE_TOPICS = ['bill_payments', 'settlements', 'pay_allocations', 'enrollments'];

/** The six "Example Payload" blocks of canopy-event-types.txt. */
export const CANOPY_EXAMPLES = [
  'account_create',
  'account_update',
  'line_item_update',
  'loans_restructure',
  'payment_reversed',
  'account_delinquency',
];

/**
 * A payment_due_date payload with every field canopy-event-types.txt lists for it (the
 * document describes the fields but prints no example).
 */
export const PAYMENT_DUE_DATE_SAMPLE = {
  account_id: 'can_100030',
  customer_id: '848',
  statement_id: 'stmt_1',
  min_pay_due_cents: 2500,
  min_pay_due_at: '2024-02-27T23:59:59.999+00:00',
  total_balance_cents: 300000,
  time_stamp: '2024-02-25T09:00:00+00:00',
  delinquent_as_of_date: 'Not delinquent',
  days_past_due: 0,
  min_pay_cents: 2500,
  unpaid_min_pay_cents: 2500,
};

/** billie-pad-webhooks.md's body format, in its order (amount and open_amount optional). */
export const BILLIE_FIELDS = [
  'created_at',
  'event',
  'order_id',
  'order_uuid',
  'invoice_uuid',
  'amount',
  'open_amount',
];

/** The signing key behind a `whsec_` secret. */
export function keyOf(secret: string): Buffer {
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/**
 * What a Canopy client does with nothing but the raw body and its key: cut the `data` text
 * out (it sits between `"data":` and the closing `,"hmac_signature":"…"}`) and sign it again
 * with node:crypto. Fails the test when the signature does not match.
 */
export function checkCanopySignature(body: string, key: Buffer): { data: string; signature: string } {
  const m = /^\{"event":"[^"\\]*","data":([\s\S]*),"hmac_signature":"([A-Za-z0-9+/]+={0,2})"\}$/.exec(body);
  if (!m) throw new Error(`not a canopy body: ${body.slice(0, 80)}`);
  const [, data, signature] = m as unknown as [string, string, string];
  expect(createHmac('sha256', key).update(data).digest('base64')).toBe(signature);
  return { data, signature };
}

/** One of canopy-event-types.txt's examples, and its `data` text. */
export function canopyExample(name: string) {
  const text = fixture(`canopy/${name}.json`);
  const doc = JSON.parse(text) as { event: string; data: Record<string, unknown>; hmac_signature: string };
  return { text, doc, data: memberOf(text, 'data') };
}

/** Loads a shipped catalog through PUT /v1/catalog. */
export async function loadCatalog(app: TestApp, name: string): Promise<void> {
  const res = await app.api('PUT', `/v1/catalog?file=catalogs/${name}.json`, undefined, {
    rawBody: catalogText(name),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

export interface Endpoint {
  id: string;
  secret: string;
}

export async function createEndpoint(app: TestApp, tenant: string, body: Record<string, unknown>) {
  const res = await app.api<Endpoint>('POST', `/v1/tenants/${tenant}/endpoints`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

export interface Published {
  id: string;
  deliveries: number;
}

/** Publishes the exact text given (so key order and number formatting are the producer's). */
export async function publishRaw(app: TestApp, tenant: string, raw: string): Promise<Published> {
  const res = await app.api<Published>('POST', `/v1/tenants/${tenant}/events`, undefined, { rawBody: raw });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body;
}

/** The request verifies with the endpoint's secret and a stock verifier; returns the parsed body. */
export function verifyStandardWebhooks(got: Received, secret: string): unknown {
  return new Webhook(secret).verify(got.body, {
    'webhook-id': String(got.headers['webhook-id']),
    'webhook-timestamp': String(got.headers['webhook-timestamp']),
    'webhook-signature': String(got.headers['webhook-signature']),
  });
}

/** Requests that arrived at one path, oldest first. */
export function at(requests: Received[], path: string): Received[] {
  return requests.filter((r) => r.path === path);
}

/** Waits until the event's deliveries have all succeeded (nothing left in flight). */
export async function settled(app: TestApp, tenant: string, eventId: string, timeoutMs = 20_000) {
  return vi.waitFor(
    async () => {
      const res = await app.api<{ deliveries: { state: string }[] }>(
        'GET',
        `/v1/tenants/${tenant}/events/${encodeURIComponent(eventId)}`,
      );
      expect(res.status).toBe(200);
      if (res.body.deliveries.every((d) => d.state === 'succeeded')) return res.body.deliveries;
      throw new Error(`event ${eventId}: ${JSON.stringify(res.body.deliveries)}`);
    },
    { timeout: timeoutMs, interval: 50 },
  );
}
