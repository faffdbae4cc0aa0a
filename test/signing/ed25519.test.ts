import { describe, expect, it } from 'vitest';
import {
  isValidSecretKey,
  newKeyPair,
  publicKeyOf,
  signEd25519,
  verifyEd25519,
} from '../../src/signing/ed25519.js';
import { ED25519_SPEC as SPEC } from './vectors.js';

describe('Ed25519 signatures (Standard Webhooks v1a)', () => {
  it('reproduces the spec vector', () => {
    expect(signEd25519(SPEC.secretKey, SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
  });

  it('derives the spec public key', () => {
    expect(publicKeyOf(SPEC.secretKey)).toBe(SPEC.publicKey);
  });

  it('reads the 32-byte seed form and the unprefixed form too', () => {
    const seed = Buffer.from(SPEC.secretKey.slice(5), 'base64').subarray(0, 32).toString('base64');
    expect(signEd25519(`whsk_${seed}`, SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
    expect(signEd25519(SPEC.secretKey.slice(5), SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
  });

  it('verifies the spec signature with the public key, beside a v1 HMAC signature', () => {
    const header = `v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= ${SPEC.signature}`;
    expect(verifyEd25519(SPEC.publicKey, SPEC.id, SPEC.timestamp, SPEC.body, header)).toBe(true);
  });

  it.each([
    ['the body', { body: '{"test": 2432232315}' }],
    ['the id', { id: 'msg_other' }],
    ['the timestamp', { timestamp: SPEC.timestamp + 1 }],
  ])('rejects a change to %s', (_what, change) => {
    const v = { ...SPEC, ...change };
    expect(verifyEd25519(SPEC.publicKey, v.id, v.timestamp, v.body, SPEC.signature)).toBe(false);
  });

  it('rejects a v1 entry, garbage, and another key', () => {
    const other = newKeyPair();
    const sigOnly = SPEC.signature.slice(4);
    expect(verifyEd25519(SPEC.publicKey, SPEC.id, SPEC.timestamp, SPEC.body, `v1,${sigOnly}`)).toBe(false);
    expect(verifyEd25519(SPEC.publicKey, SPEC.id, SPEC.timestamp, SPEC.body, 'v1a,')).toBe(false);
    expect(verifyEd25519(SPEC.publicKey, SPEC.id, SPEC.timestamp, SPEC.body, 'v1a,!!!')).toBe(false);
    expect(verifyEd25519(other.publicKey, SPEC.id, SPEC.timestamp, SPEC.body, SPEC.signature)).toBe(false);
  });

  it('new key pairs: whsk_ of 64 bytes, whpk_ of 32, and they work together', () => {
    const pair = newKeyPair();
    expect(pair.secretKey).toMatch(/^whsk_[A-Za-z0-9+/]{86}==$/);
    expect(pair.publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(publicKeyOf(pair.secretKey)).toBe(pair.publicKey);
    const sig = signEd25519(pair.secretKey, 'msg_1', 1700000000, '{}');
    expect(verifyEd25519(pair.publicKey, 'msg_1', 1700000000, '{}', sig)).toBe(true);
    expect(newKeyPair().secretKey).not.toBe(pair.secretKey);
  });

  it('validates tenant-supplied secret keys', () => {
    expect(isValidSecretKey(SPEC.secretKey)).toBe(true);
    expect(isValidSecretKey(SPEC.secretKey.slice(5))).toBe(false); // prefix required
    expect(isValidSecretKey('whsk_' + Buffer.alloc(16).toString('base64'))).toBe(false);
    expect(isValidSecretKey('whsk_not base64')).toBe(false);
    // 64 bytes whose second half is not the seed's public key
    const spliced = Buffer.from(SPEC.secretKey.slice(5), 'base64');
    spliced[40] = spliced[40]! ^ 1;
    expect(isValidSecretKey('whsk_' + spliced.toString('base64'))).toBe(false);
    expect(() => signEd25519('whsk_' + spliced.toString('base64'), 'm', 1, '')).toThrow(
      /does not match the seed/,
    );
  });
});
