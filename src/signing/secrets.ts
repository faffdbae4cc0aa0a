// An endpoint signs with one current secret and, for a grace period after a rotation, with the
// secrets it replaced. A secret is either a `whsec_` HMAC secret (`v1,` signatures) or a `whsk_`
// Ed25519 secret key (`v1a,` signatures); its prefix says which, so the store keeps one column
// for both and a rotation may switch an endpoint from one scheme to the other.

import { isValidSecretKey, newKeyPair, publicKeyOf, signEd25519 } from './ed25519.js';
import { hmacSignature, isValidSecret, newSecret, secretKey } from './hmac.js';

export type SigningScheme = 'hmac' | 'ed25519';
export const SIGNING_SCHEMES: readonly SigningScheme[] = ['hmac', 'ed25519'];

/** A replaced secret, accepted by receivers until `expires_at` (ISO time). */
export interface PreviousSecret {
  secret: string;
  expires_at: string;
}

/** At most this many replaced secrets sign beside the current one; older ones are dropped. */
export const MAX_PREVIOUS_SECRETS = 5;

export function schemeOf(secret: string): SigningScheme {
  return secret.startsWith('whsk_') ? 'ed25519' : 'hmac';
}

export function newSigningSecret(scheme: SigningScheme): string {
  return scheme === 'ed25519' ? newKeyPair().secretKey : newSecret();
}

export function isValidSigningSecret(scheme: SigningScheme, secret: string): boolean {
  return scheme === 'ed25519' ? isValidSecretKey(secret) : isValidSecret(secret);
}

/**
 * What a receiver verifies with: the `whsec_` secret itself, or the `whpk_` public key of a
 * `whsk_` key. The secret key of an Ed25519 endpoint never leaves Tidings.
 */
export function verificationKey(secret: string): string {
  return schemeOf(secret) === 'ed25519' ? publicKeyOf(secret) : secret;
}

/** The public key of an Ed25519 secret, null for an HMAC secret. */
export function publicKeyOfSecret(secret: string): string | null {
  return schemeOf(secret) === 'ed25519' ? publicKeyOf(secret) : null;
}

export function parsePrevious(json: string | null | undefined): PreviousSecret[] {
  if (!json) return [];
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(
    (p): p is PreviousSecret =>
      typeof p === 'object' &&
      p !== null &&
      typeof (p as PreviousSecret).secret === 'string' &&
      typeof (p as PreviousSecret).expires_at === 'string',
  );
}

export function isLive(p: PreviousSecret, now: Date): boolean {
  return Date.parse(p.expires_at) > now.getTime();
}

/**
 * The previous-secrets list after replacing `current`: the replaced secret (when it keeps
 * signing until `until`) first, then the earlier ones still live, newest first, capped.
 */
export function afterRotation(
  current: string,
  previous: PreviousSecret[],
  until: Date,
  now: Date,
): PreviousSecret[] {
  const kept = previous.filter((p) => isLive(p, now) && p.secret !== current);
  const next = until.getTime() > now.getTime() ? [{ secret: current, expires_at: until.toISOString() }] : [];
  return [...next, ...kept].slice(0, MAX_PREVIOUS_SECRETS);
}

/**
 * The `webhook-signature` value: one signature per live secret, the current one first,
 * space-separated as Standard Webhooks allows. A verifier holding any one of them accepts.
 */
export function signatureHeader(
  current: string,
  previous: PreviousSecret[],
  now: Date,
  id: string,
  timestamp: number,
  body: string,
): string {
  const secrets = [current, ...previous.filter((p) => isLive(p, now)).map((p) => p.secret)];
  return [...new Set(secrets)].map((s) => signWith(s, id, timestamp, body)).join(' ');
}

function signWith(secret: string, id: string, timestamp: number, body: string): string {
  return schemeOf(secret) === 'ed25519'
    ? signEd25519(secret, id, timestamp, body)
    : hmacSignature(secretKey(secret), id, timestamp, body);
}

/** Key bytes for profiles that sign inside the body (canopy); empty for an Ed25519 endpoint. */
export function bodySigningKey(current: string): Buffer {
  return schemeOf(current) === 'ed25519' ? Buffer.alloc(0) : secretKey(current);
}
