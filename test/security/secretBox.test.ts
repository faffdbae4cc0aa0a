import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import {
  createSecretBox,
  generateKey,
  isSealed,
  keyFingerprint,
  parseKeyMaterial,
  SecretBoxError,
} from '../../src/security/secretBox.js';

const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('seal and open', () => {
  const box = createSecretBox([k1], 'k1');

  it('round-trips, and the sealed text holds no trace of the secret', () => {
    const sealed = box.seal(SECRET);
    expect(sealed).toMatch(/^enc:v1:k1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(sealed).not.toContain('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(box.open(sealed)).toBe(SECRET);
    expect(box.openDetailed(sealed)).toEqual({ plain: SECRET, needsReseal: false, keyId: 'k1' });
  });

  it('uses a fresh IV each time', () => {
    expect(box.seal(SECRET)).not.toBe(box.seal(SECRET));
  });

  it('round-trips empty and non-ASCII text', () => {
    for (const plain of ['', 'Bearer ü€😀', 'x'.repeat(10_000)])
      expect(box.open(box.seal(plain))).toBe(plain);
  });

  it('takes legacy clear text as is and asks for it to be resealed', () => {
    expect(isSealed(SECRET)).toBe(false);
    expect(box.openDetailed(SECRET)).toEqual({ plain: SECRET, needsReseal: true, keyId: null });
    const resealed = box.reseal(SECRET);
    expect(resealed && isSealed(resealed)).toBe(true);
    expect(box.open(resealed!)).toBe(SECRET);
    expect(box.reseal(resealed!)).toBeUndefined();
  });

  it('binds the value to its context', () => {
    const sealed = box.seal(SECRET, 'ep_1');
    expect(box.open(sealed, 'ep_1')).toBe(SECRET);
    expect(() => box.open(sealed, 'ep_2')).toThrow(SecretBoxError);
    expect(() => box.open(sealed)).toThrow(/failed authentication/);
  });
});

describe('tampering', () => {
  const box = createSecretBox([k1, k2], 'k1');
  const sealed = box.seal(SECRET);
  const parts = sealed.split(':');

  function withPart(i: number, value: string): string {
    const copy = [...parts];
    copy[i] = value;
    return copy.join(':');
  }
  function flipFirstByte(b64: string): string {
    const buf = Buffer.from(b64, 'base64');
    buf[0] = buf[0]! ^ 1;
    return buf.toString('base64');
  }

  it.each([
    ['ciphertext', 5],
    ['tag', 4],
    ['iv', 3],
  ])('a changed %s fails authentication', (_name, i) => {
    expect(() => box.open(withPart(i, flipFirstByte(parts[i]!)))).toThrow(
      'sealed value failed authentication with key "k1" (tampered, or opened in the wrong context)',
    );
  });

  it('relabelling with another known key id fails', () => {
    expect(() => box.open(withPart(2, 'k2'))).toThrow(/failed authentication with key "k2"/);
  });

  it('an unknown key id is named', () => {
    expect(() => box.open(withPart(2, 'gone'))).toThrow(
      'sealed with key "gone", which is not in TIDINGS_ENCRYPTION_KEY',
    );
  });

  it.each([
    ['enc:v1:k1:abc'],
    ['enc:v2:k1:a:b:c'],
    [withPart(3, '!!!!')],
    [withPart(4, Buffer.alloc(8).toString('base64'))],
  ])('malformed %s is refused clearly', (text) => {
    expect(() => box.open(text)).toThrow(/^malformed sealed value/);
  });

  it('a different key with the same id cannot open it', () => {
    const other = createSecretBox([{ id: 'k1', key: randomBytes(32) }], 'k1');
    expect(() => other.open(sealed)).toThrow(SecretBoxError);
  });
});

describe('key rotation', () => {
  it('the active key seals, older keys still open, and reseal moves values to the active key', () => {
    const old = createSecretBox([k1], 'k1');
    const sealedOld = old.seal(SECRET, 'ep_1');
    const rotated = createSecretBox([k2, k1], 'k2');
    expect(rotated.openDetailed(sealedOld, 'ep_1')).toEqual({
      plain: SECRET,
      needsReseal: true,
      keyId: 'k1',
    });
    const moved = rotated.reseal(sealedOld, 'ep_1')!;
    expect(moved.startsWith('enc:v1:k2:')).toBe(true);
    expect(rotated.reseal(moved, 'ep_1')).toBeUndefined();
    // Once the old key is dropped, only moved values open.
    const newOnly = createSecretBox([k2], 'k2');
    expect(newOnly.open(moved, 'ep_1')).toBe(SECRET);
    expect(() => newOnly.open(sealedOld, 'ep_1')).toThrow(/not in TIDINGS_ENCRYPTION_KEY/);
  });

  it('refuses bad key sets', () => {
    expect(() => createSecretBox([k1], 'k2')).toThrow(/active key "k2"/);
    expect(() => createSecretBox([k1, { ...k2, id: 'k1' }], 'k1')).toThrow(/appears twice/);
    expect(() => createSecretBox([{ id: 'k1', key: Buffer.alloc(16) }], 'k1')).toThrow(/32 bytes/);
    expect(() => createSecretBox([{ id: 'a:b', key: Buffer.alloc(32) }], 'a:b')).toThrow(/key id/);
  });
});

describe('parseKeyMaterial', () => {
  it('one base64 key: its fingerprint is its id', () => {
    const text = generateKey();
    expect(Buffer.from(text, 'base64')).toHaveLength(32);
    const { keys, activeId } = parseKeyMaterial(text);
    expect(keys).toHaveLength(1);
    expect(keys[0]!.key.toString('base64')).toBe(text);
    expect(activeId).toBe(keyFingerprint(keys[0]!.key));
    expect(activeId).toMatch(/^[0-9a-f]{12}$/);
  });

  it('a list for rotation: the first is active, ids given or derived', () => {
    const a = generateKey();
    const b = generateKey();
    const c = generateKey();
    const { keys, activeId } = parseKeyMaterial(` new:${a} , old:${b},${c}`);
    expect(activeId).toBe('new');
    expect(keys.map((k) => k.id)).toEqual(['new', 'old', keyFingerprint(Buffer.from(c, 'base64'))]);
    // What one configuration sealed, the rotated one opens.
    const before = parseKeyMaterial(b);
    const sealed = createSecretBox(before.keys, before.activeId).seal(SECRET);
    const after = parseKeyMaterial(`${a},${b}`);
    expect(createSecretBox(after.keys, after.activeId).openDetailed(sealed)).toMatchObject({
      plain: SECRET,
      needsReseal: true,
    });
  });

  it('accepts base64url', () => {
    const key = randomBytes(32);
    expect(parseKeyMaterial(key.toString('base64url')).keys[0]!.key.equals(key)).toBe(true);
  });

  it.each([
    ['', /is empty/],
    ['short', /must decode to 32 bytes/],
    [Buffer.alloc(16).toString('base64'), /must decode to 32 bytes, got 16/],
    ['not base64 at all!', /not base64/],
    [`a:${generateKey()},a:${generateKey()}`, /"a" appears twice/],
    [`bad id:${generateKey()}`, /id "bad id"/],
  ])('refuses %j, naming the setting', (text, message) => {
    let err: unknown;
    try {
      parseKeyMaterial(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^TIDINGS_ENCRYPTION_KEY: /);
    expect((err as Error).message).toMatch(message);
  });
});
