// Where the key for secrets at rest comes from: TIDINGS_ENCRYPTION_KEY, or else a key file in
// the data folder, generated at first start. The key file suits the embedded store, which one
// process owns; processes sharing a PostgreSQL must share one key, so there the setting is
// what counts and its absence is warned about.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Queryable } from '../store/db.js';
import { checkKeyCanary } from '../store/sealed.js';
import type { SecretCodec } from '../store/secrets.js';
import { createSecretBox, generateKey, parseKeyMaterial, type SecretBox } from './secretBox.js';

export const KEY_FILE_NAME = 'encryption.key';

export interface LoadedKey {
  box: SecretBox;
  source: 'setting' | 'file';
  /** The key file, when the key came from one. */
  file?: string;
  /** A key file was written by this call. */
  generated: boolean;
}

export function keyFilePath(config: Config): string {
  return config.encryptionKeyFile ?? path.join(config.dataDir, KEY_FILE_NAME);
}

/**
 * What the first start says about a key file it generated: where it is and why there. By
 * default it sits in the data folder, so the embedded store and its key move together (a
 * copied folder or a container volume carries both; a key left behind would make every
 * secret unreadable). That also means a copy of the folder holds the key.
 */
export function keyFileNotice(file: string, insideDataDir: boolean): string {
  const where = `Secrets at rest (endpoint signing secrets, static headers) are encrypted with a key generated into ${file}.`;
  return insideDataDir
    ? `${where} It is kept in the data folder so that the store and its key move together; a copy or backup of that folder therefore holds the key too: protect backups like the key, or set TIDINGS_ENCRYPTION_KEY (or TIDINGS_ENCRYPTION_KEY_FILE, to keep the file elsewhere). Without this key the stored secrets cannot be read.`
    : `${where} Keep it with the data, and back it up apart from it: without this key the stored secrets cannot be read.`;
}

/**
 * Writes a fresh key file unless one exists. The key is written to a private temporary file
 * and hard-linked into place, so two processes starting at once agree on one key and nobody
 * ever reads a half-written file.
 */
function ensureKeyFile(file: string): boolean {
  if (existsSync(file)) return false;
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${generateKey()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

export function readKeyFile(file: string): string {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .join(',');
}

export function loadSecretBox(config: Config, log: Logger): LoadedKey {
  if (config.encryptionKey) {
    const { keys, activeId } = parseKeyMaterial(config.encryptionKey);
    return { box: createSecretBox(keys, activeId), source: 'setting', generated: false };
  }
  const file = keyFilePath(config);
  const generated = ensureKeyFile(file);
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    log.warn(
      { file, mode: mode.toString(8) },
      'the encryption key file is readable by others; making it 0600',
    );
    chmodSync(file, 0o600);
  }
  const { keys, activeId } = parseKeyMaterial(readKeyFile(file));
  if (generated) log.warn({ file }, keyFileNotice(file, config.encryptionKeyFile === undefined));
  if (config.databaseUrl) {
    log.warn(
      { file },
      'TIDINGS_ENCRYPTION_KEY is not set: secrets are sealed with a key file on THIS machine. ' +
        'Every process sharing this PostgreSQL must use the same key: set TIDINGS_ENCRYPTION_KEY ' +
        `to the contents of ${file} on all of them.`,
    );
  }
  return { box: createSecretBox(keys, activeId), source: 'file', file, generated };
}

/** The store's codec over a secret box. */
export function boxCodec(box: SecretBox): SecretCodec {
  return { seal: (plain) => box.seal(plain), open: (stored) => box.open(stored) };
}

/**
 * The codec the store seals secrets with: the configured or generated key, checked against
 * the database's canary so that a process holding the wrong key stops at boot.
 */
export async function openSecretCodec(db: Queryable, config: Config, log: Logger): Promise<SecretCodec> {
  const { box } = loadSecretBox(config, log);
  await checkKeyCanary(db, box);
  return boxCodec(box);
}
