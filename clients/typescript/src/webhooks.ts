// Verifying what Tidings POSTs to an endpoint (Standard Webhooks, https://www.standardwebhooks.com).
// The signed content is `${webhook-id}.${webhook-timestamp}.${raw body}`:
//   v1,<base64 HMAC-SHA256>  keyed with the base64-decoded part of a `whsec_` secret;
//   v1a,<base64 Ed25519>     checked with the `whpk_` public key of an ed25519 endpoint.
// `webhook-signature` holds one signature per live secret (two during a rotation), space-
// separated; the delivery is genuine when any one verifies with the key the receiver holds.
import { createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';

/** Default tolerance between `webhook-timestamp` and the receiver's clock: 5 minutes. */
export const DEFAULT_TOLERANCE_S = 5 * 60;

// The DER prefix that wraps a raw 32-byte Ed25519 public key as SPKI (RFC 8410).
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

export interface VerifiedWebhook {
  /** `webhook-id`: the event's id, the same on every retry; de-duplicate on it. */
  id: string;
  /** `webhook-timestamp`: when this attempt was signed. */
  timestamp: Date;
  /** `webhook-sequence` on ordered endpoints, else undefined. */
  sequence: number | undefined;
  /** The body, parsed. */
  payload: unknown;
}

export interface VerifyOptions {
  toleranceS?: number;
  /** The receiver's clock (tests). */
  now?: Date;
}

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === wanted) return Array.isArray(v) ? v.join(', ') : v;
  }
  return undefined;
}

function base64Of(text: string, prefix: string): Buffer {
  const b64 = text.startsWith(prefix) ? text.slice(prefix.length) : text;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
    throw new WebhookVerificationError(`the ${prefix} key is not base64`);
  return Buffer.from(b64, 'base64');
}

/** A check of one `version,signature` entry, for the key the receiver holds. */
function checker(secret: string, content: Buffer): { version: string; check(signature: Buffer): boolean } {
  if (secret.startsWith('whpk_')) {
    const raw = base64Of(secret, 'whpk_');
    if (raw.length !== 32) throw new WebhookVerificationError('a whpk_ key holds 32 bytes');
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
    return { version: 'v1a', check: (sig) => sig.length === 64 && verify(null, content, key, sig) };
  }
  if (secret.startsWith('whsk_')) {
    throw new WebhookVerificationError(
      "whsk_ is the signing key; verify with the endpoint's whpk_ public key",
    );
  }
  const expected = createHmac('sha256', base64Of(secret, 'whsec_')).update(content).digest();
  return {
    version: 'v1',
    check: (sig) => sig.length === expected.length && timingSafeEqual(sig, expected),
  };
}

/**
 * Checks a delivery and returns what it carries; throws WebhookVerificationError when it is
 * not genuine or too old. `secret` is the endpoint's `whsec_` secret (v1) or `whpk_` public
 * key (v1a); `body` is the raw body exactly as received (parse it only after this).
 */
export function verifyWebhook(
  secret: string,
  headers: HeaderBag,
  body: string | Buffer | Uint8Array,
  opts: VerifyOptions = {},
): VerifiedWebhook {
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !ts || !signatures)
    throw new WebhookVerificationError('missing webhook-id, -timestamp or -signature');
  if (!/^\d+$/.test(ts)) throw new WebhookVerificationError('webhook-timestamp is not a number of seconds');
  const seconds = Number(ts);
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const tolerance = opts.toleranceS ?? DEFAULT_TOLERANCE_S;
  if (Math.abs(now - seconds) > tolerance) {
    throw new WebhookVerificationError(`webhook-timestamp is more than ${tolerance} s from now`);
  }
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  const content = Buffer.concat([Buffer.from(`${id}.${ts}.`, 'utf8'), raw]);
  const { version, check } = checker(secret, content);
  const ok = signatures.split(' ').some((entry) => {
    const comma = entry.indexOf(',');
    return (
      comma > 0 && entry.slice(0, comma) === version && check(Buffer.from(entry.slice(comma + 1), 'base64'))
    );
  });
  if (!ok) throw new WebhookVerificationError(`no ${version} signature matches`);
  const sequence = header(headers, 'webhook-sequence');
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new WebhookVerificationError('the body is not JSON');
  }
  return {
    id,
    timestamp: new Date(seconds * 1000),
    sequence: sequence === undefined ? undefined : Number(sequence),
    payload,
  };
}
