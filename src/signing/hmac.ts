// Standard Webhooks signing (https://www.standardwebhooks.com): the signed content is
// `${id}.${timestamp}.${body}`, the key is the base64-decoded part of a `whsec_` secret, and
// the header value is `v1,` + base64(HMAC-SHA256). Several signatures are space-separated.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new secret: `whsec_` + base64 of 24 random bytes. */
export function newSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

/** The key bytes of a `whsec_` secret (or of a bare base64 secret). */
export function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  return Buffer.from(b64, 'base64');
}

/** Whether a tenant-supplied secret is usable: `whsec_` + base64 of 24 to 64 bytes. */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(PREFIX)) return false;
  const b64 = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const n = Buffer.from(b64, 'base64').length;
  return n >= 24 && n <= 64;
}

export function hmacSignature(key: Buffer, id: string, timestamp: number, body: string): string {
  return 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

/** base64 HMAC-SHA256 of a text as it stands in a body (profiles that sign inside the body: canopy). */
export function bodyHmac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('base64');
}
