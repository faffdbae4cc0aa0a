// What every system in the benchmark puts on the wire: the same 1 KiB payload, the Standard
// Webhooks envelope and headers. The ceiling and the baseline sign with the service's own
// signing function, so the three pay the same cryptographic cost per request.
import { hmacSignature, secretKey } from '../src/signing/hmac.js';

export const EVENT_TYPE = 'bench.invoice_paid';
/** A fixed secret for the ceiling and baseline (Tidings endpoints are created with it too). */
export const BENCH_SECRET = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
const KEY = secretKey(BENCH_SECRET);

/** A payload whose JSON text is exactly `bytes` long. */
export function payloadJson(bytes = 1024): string {
  const base = { invoice_id: 'inv_0001', amount_cents: 12345, currency: 'USD', memo: '' };
  const empty = JSON.stringify(base).length;
  base.memo = 'x'.repeat(Math.max(0, bytes - empty));
  return JSON.stringify(base);
}

/** The publish request body every system's ingest accepts: `{type, payload}`. */
export function publishBody(payload: string): string {
  return `{"type":${JSON.stringify(EVENT_TYPE)},"payload":${payload}}`;
}

/** The `standard` profile envelope, built as text like the service builds it. */
export function envelope(type: string, at: Date, payload: string): string {
  return `{"type":${JSON.stringify(type)},"timestamp":${JSON.stringify(at.toISOString())},"data":${payload}}`;
}

/** Standard Webhooks headers for one attempt, signed now. */
export function signedHeaders(id: string, body: string): Record<string, string> {
  const ts = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': hmacSignature(KEY, id, ts, body),
  };
}

/**
 * Wall-clock milliseconds with sub-millisecond resolution. timeOrigin is read once per
 * process from the same system clock, so stamps from the load generator and the receiver
 * can be subtracted (error well under a millisecond on one machine).
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
