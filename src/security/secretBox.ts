// Encryption of secrets at rest (endpoint signing secrets, static auth headers): AES-256-GCM
// with a random 96-bit IV per value, under TIDINGS_ENCRYPTION_KEY. A sealed value names the key
// that sealed it, so keys can be rotated: the first key seals, every listed key opens, and a
// re-encryption pass (`needsReseal`) moves old values to the active key.
//
//   enc:v1:<keyId>:<iv base64>:<tag base64>:<ciphertext base64>
//
// The header `enc:v1:<keyId>` and an optional caller-chosen context (say the endpoint id) are
// authenticated as associated data: a value copied into another row, or relabelled with another
// key id, fails to open instead of decrypting in the wrong place.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError } from '../config.js';

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export interface Opened {
  plain: string;
  /** Stored in clear (written before encryption was on) or sealed with a key that is not active. */
  needsReseal: boolean;
  /** The key that sealed it; null for a value stored in clear. */
  keyId: string | null;
}

export interface SecretBox {
  readonly activeId: string;
  seal(plain: string, context?: string): string;
  /** Opens a sealed value; a value not starting with `enc:` is taken as legacy clear text. */
  open(text: string, context?: string): string;
  openDetailed(text: string, context?: string): Opened;
  /** The value sealed with the active key, or undefined when it already is. */
  reseal(text: string, context?: string): string | undefined;
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

const PREFIX = 'enc:';
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]*={0,2}|[A-Za-z0-9_-]*)$/;

export function isSealed(text: string): boolean {
  return text.startsWith(PREFIX);
}

function aad(keyId: string, context: string | undefined): Buffer {
  return Buffer.from(`${PREFIX}${VERSION}:${keyId}\n${context ?? ''}`, 'utf8');
}

export function createSecretBox(keys: readonly EncryptionKey[], activeId: string): SecretBox {
  const byId = new Map<string, Buffer>();
  for (const { id, key } of keys) {
    if (!KEY_ID.test(id)) throw new SecretBoxError(`key id "${id}" must be 1–64 of [A-Za-z0-9_-]`);
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`key "${id}" must be ${KEY_BYTES} bytes`);
    if (byId.has(id)) throw new SecretBoxError(`key id "${id}" appears twice`);
    byId.set(id, Buffer.from(key));
  }
  const active = byId.get(activeId);
  if (!active) throw new SecretBoxError(`active key "${activeId}" is not among the keys`);

  function seal(plain: string, context?: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', active!, iv);
    cipher.setAAD(aad(activeId, context));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [`${PREFIX}${VERSION}`, activeId, iv, tag, ct]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64')))
      .join(':');
  }

  function openDetailed(text: string, context?: string): Opened {
    if (!isSealed(text)) return { plain: text, needsReseal: true, keyId: null };
    const parts = text.split(':');
    if (parts.length !== 6 || parts[1] !== VERSION) {
      throw new SecretBoxError('malformed sealed value (expected enc:v1:<key>:<iv>:<tag>:<data>)');
    }
    const [, , keyId, ivText, tagText, ctText] = parts as [string, string, string, string, string, string];
    const key = byId.get(keyId);
    if (!key) {
      throw new SecretBoxError(`sealed with key "${keyId}", which is not in TIDINGS_ENCRYPTION_KEY`);
    }
    if (!BASE64.test(ivText) || !BASE64.test(tagText) || !BASE64.test(ctText)) {
      throw new SecretBoxError('malformed sealed value (bad base64)');
    }
    const iv = Buffer.from(ivText, 'base64');
    const tag = Buffer.from(tagText, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SecretBoxError('malformed sealed value (bad IV or tag length)');
    }
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(keyId, context));
    decipher.setAuthTag(tag);
    let plain: string;
    try {
      plain = Buffer.concat([decipher.update(Buffer.from(ctText, 'base64')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new SecretBoxError(
        `sealed value failed authentication with key "${keyId}" (tampered, or opened in the wrong context)`,
      );
    }
    return { plain, needsReseal: keyId !== activeId, keyId };
  }

  return {
    activeId,
    seal,
    openDetailed,
    open: (text, context) => openDetailed(text, context).plain,
    reseal(text, context) {
      const opened = openDetailed(text, context);
      return opened.needsReseal ? seal(opened.plain, context) : undefined;
    },
  };
}

/** A new key for TIDINGS_ENCRYPTION_KEY: base64 of 32 random bytes. */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** The id of a key given without one: the start of its SHA-256, stable across restarts. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

const SETTING = 'TIDINGS_ENCRYPTION_KEY';

function decodeKey(text: string, label: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    throw new ConfigError(SETTING, `${label} is not base64`);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new ConfigError(SETTING, `${label} must decode to ${KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

/**
 * Reads TIDINGS_ENCRYPTION_KEY: one base64 key of 32 bytes, or a comma-separated list for
 * rotation, newest first (`new:BASE64,old:BASE64`). The first key seals; all of them open.
 * An entry without `id:` gets its fingerprint as id, so `NEWKEY,OLDKEY` works as well.
 */
export function parseKeyMaterial(text: string): { keys: EncryptionKey[]; activeId: string } {
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new ConfigError(SETTING, 'is empty');
  const keys: EncryptionKey[] = [];
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const label = `key ${i + 1}`;
    const key = decodeKey(colon === -1 ? entry : entry.slice(colon + 1), label);
    const id = colon === -1 ? keyFingerprint(key) : entry.slice(0, colon);
    if (!KEY_ID.test(id))
      throw new ConfigError(SETTING, `${label}: id "${id}" must be 1–64 of [A-Za-z0-9_-]`);
    if (keys.some((k) => k.id === id)) throw new ConfigError(SETTING, `key id "${id}" appears twice`);
    keys.push({ id, key });
  });
  return { keys, activeId: keys[0]!.id };
}
