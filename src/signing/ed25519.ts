// Standard Webhooks asymmetric signatures (https://www.standardwebhooks.com): Ed25519 over
// `${id}.${timestamp}.${body}`, sent as `v1a,` + base64(signature) in `webhook-signature`
// (space-separated beside any `v1,` HMAC signature).
//
// Keys are shown as `whsk_` + base64 (secret) and `whpk_` + base64 (public). The spec only says
// "standard ed25519 key pair, base64 encoded"; its test vector gives the secret key as the
// 64-byte libsodium form (32-byte seed followed by the public key), while the reference Go
// library reads a bare 32-byte seed. We write the 64-byte form and read both.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

const SECRET_PREFIX = 'whsk_';
const PUBLIC_PREFIX = 'whpk_';
const SIGNATURE_VERSION = 'v1a';
const SEED_BYTES = 32;
// DER prefixes that wrap a raw Ed25519 seed as PKCS#8 and a raw public key as SPKI (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class Ed25519KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Ed25519KeyError';
  }
}

function decode(text: string, prefix: string): Buffer {
  const b64 = text.startsWith(prefix) ? text.slice(prefix.length) : text;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Ed25519KeyError(`${prefix} key is not base64`);
  return Buffer.from(b64, 'base64');
}

function rawPublic(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

function privateKeyOf(secretKey: string): KeyObject {
  const raw = decode(secretKey, SECRET_PREFIX);
  if (raw.length !== SEED_BYTES && raw.length !== 2 * SEED_BYTES) {
    throw new Ed25519KeyError(`whsk_ key must hold 32 or 64 bytes, got ${raw.length}`);
  }
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, raw.subarray(0, SEED_BYTES)]),
    format: 'der',
    type: 'pkcs8',
  });
  // In the 64-byte form the second half must be the seed's own public key; a mismatch means a
  // corrupted or spliced key, and signing with it would publish signatures nobody can verify.
  if (raw.length === 2 * SEED_BYTES && !rawPublic(key).equals(raw.subarray(SEED_BYTES))) {
    throw new Ed25519KeyError('whsk_ key: public half does not match the seed');
  }
  return key;
}

function publicKeyObject(publicKey: string): KeyObject {
  const raw = decode(publicKey, PUBLIC_PREFIX);
  if (raw.length !== SEED_BYTES) throw new Ed25519KeyError(`whpk_ key must hold 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function signedContent(id: string, timestamp: number, body: string): Buffer {
  return Buffer.from(`${id}.${timestamp}.${body}`, 'utf8');
}

export interface Ed25519KeyPair {
  /** `whsk_` + base64(seed ‖ public key), 64 bytes. */
  secretKey: string;
  /** `whpk_` + base64(public key), 32 bytes; safe to show the tenant. */
  publicKey: string;
}

export function newKeyPair(): Ed25519KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const pub = rawPublic(privateKey);
  return {
    secretKey: SECRET_PREFIX + Buffer.concat([seed, pub]).toString('base64'),
    publicKey: PUBLIC_PREFIX + pub.toString('base64'),
  };
}

/** The `whpk_` public key belonging to a `whsk_` secret key. */
export function publicKeyOf(secretKey: string): string {
  return PUBLIC_PREFIX + rawPublic(privateKeyOf(secretKey)).toString('base64');
}

/** Whether a tenant-supplied `whsk_` key is usable. */
export function isValidSecretKey(secretKey: string): boolean {
  if (!secretKey.startsWith(SECRET_PREFIX)) return false;
  try {
    privateKeyOf(secretKey);
    return true;
  } catch {
    return false;
  }
}

/** `v1a,` + base64(Ed25519 signature of `${id}.${timestamp}.${body}`). */
export function signEd25519(secretKey: string, id: string, timestamp: number, body: string): string {
  const signature = sign(null, signedContent(id, timestamp, body), privateKeyOf(secretKey));
  return `${SIGNATURE_VERSION},${signature.toString('base64')}`;
}

/**
 * Whether any `v1a,` entry of a `webhook-signature` header verifies with the public key.
 * Other entries (`v1,` HMAC signatures) are skipped. Timestamp tolerance is the caller's job.
 */
export function verifyEd25519(
  publicKey: string,
  id: string,
  timestamp: number,
  body: string,
  signatureHeader: string,
): boolean {
  const key = publicKeyObject(publicKey);
  const content = signedContent(id, timestamp, body);
  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma === -1 || entry.slice(0, comma) !== SIGNATURE_VERSION) continue;
    const signature = Buffer.from(entry.slice(comma + 1), 'base64');
    if (signature.length === 64 && verify(null, content, key, signature)) return true;
  }
  return false;
}
