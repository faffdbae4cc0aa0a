// `tidings keys generate` and `tidings keys rotate [--new-key]`: the operator's side of the key
// for secrets at rest.
//
// Rotating with TIDINGS_ENCRYPTION_KEY: set it to `new:BASE64,old:BASE64` (the first key seals,
// all of them open) on every process, run `tidings keys rotate`, then drop the old key.
// Rotating with the embedded store's key file: `tidings keys rotate --new-key` puts a fresh key
// first in the file, re-seals everything, and drops the old key once nothing needs it.
import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { keyFilePath, loadSecretBox, readKeyFile } from '../security/keys.js';
import { generateKey, keyFingerprint, parseKeyMaterial } from '../security/secretBox.js';
import { migrate } from '../store/migrate.js';
import { lockDataDir, openStore } from '../store/open.js';
import { resealAll } from '../store/sealed.js';

function writeKeyFile(file: string, keys: string[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${keys.join('\n')}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export async function keysRotate(config: Config, opts: { newKey?: boolean }): Promise<number> {
  const log = createLogger('warn');
  if (opts.newKey && config.encryptionKey) {
    console.error(
      'tidings: --new-key works on the key file; with TIDINGS_ENCRYPTION_KEY set, put the new key first yourself (new:BASE64,old:BASE64) and run `tidings keys rotate`.',
    );
    return 2;
  }
  // The embedded store's folder is locked first: a running server must not keep sealing with
  // a key the file is about to lose.
  const unlock = config.databaseUrl ? () => {} : lockDataDir(config.dataDir);
  try {
    return await rotateLocked(config, opts, log);
  } finally {
    unlock();
  }
}

async function rotateLocked(config: Config, opts: { newKey?: boolean }, log: Logger): Promise<number> {
  if (opts.newKey) {
    // Make sure a key file exists, then put a fresh key in front of what it holds.
    loadSecretBox(config, log);
    const file = keyFilePath(config);
    writeKeyFile(file, [generateKey(), ...readKeyFile(file).split(',')]);
  }
  const { box, source, file } = loadSecretBox(config, log);
  const db = await openStore(config);
  try {
    await migrate(db);
    const report = await db.tx((q) => resealAll(q, box));
    const resealed = Object.values(report.resealed).reduce((a, b) => a + b, 0);
    const failed = Object.values(report.failed).reduce((a, b) => a + b, 0);
    console.log(`re-sealed ${resealed} value(s) with key "${box.activeId}"`, report.resealed);
    if (failed > 0) {
      console.error(
        `tidings: ${failed} value(s) could not be opened with the configured keys; keep every old key until they are fixed`,
        report.failed,
      );
      return 1;
    }
    if (source === 'file' && file) {
      const keys = readKeyFile(file).split(',');
      if (keys.length > 1) {
        writeKeyFile(file, keys.slice(0, 1));
        console.log(`dropped ${keys.length - 1} old key(s) from ${file}`);
      }
    } else if (parseKeyMaterial(config.encryptionKey ?? '').keys.length > 1) {
      console.log(
        'every value is sealed with the first key; the others may now be removed from TIDINGS_ENCRYPTION_KEY',
      );
    }
    return 0;
  } finally {
    await db.close();
  }
}

export function registerKeyCommands(program: Command, config: () => Config): void {
  const keys = program.command('keys').description('the encryption key for secrets at rest');
  keys
    .command('generate')
    .description('print a new key for TIDINGS_ENCRYPTION_KEY')
    .action(() => {
      const key = generateKey();
      console.log(`${keyFingerprint(Buffer.from(key, 'base64'))}:${key}`);
    });
  keys
    .command('rotate')
    .description('re-encrypt every sealed secret with the active (first) key')
    .option('--new-key', 'key file only: generate a new key first, and drop the old one when done')
    .action(async (flags: { newKey?: boolean }) => {
      process.exitCode = await keysRotate(config(), flags);
    });
}
