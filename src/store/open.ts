// Opening the store the configuration names: PostgreSQL (DATABASE_URL, optionally in its own
// schema) or the embedded PGlite in the data folder, which one process holds at a time.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Db } from './db.js';
import { ensureSchema } from './migrate.js';
import { openPg } from './pg.js';
import { openPglite } from './pglite.js';

export async function openStore(config: Config): Promise<Db> {
  if (config.databaseUrl) {
    const db = await openPg(config.databaseUrl, {
      max: 10,
      ...(config.dbSchema ? { schema: config.dbSchema } : {}),
    });
    if (config.dbSchema) await ensureSchema(db, config.dbSchema);
    return db;
  }
  return openPglite(config.dataDir);
}

/**
 * The embedded store belongs to one process: two processes on one data folder would
 * corrupt it. A lock file with our pid keeps a second one out.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tidings.pid');
  try {
    const pid = Number(readFileSync(file, 'utf8'));
    if (pid && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new Error(
          `${dir} is in use by process ${pid}. The embedded store serves one process; run more processes on PostgreSQL (DATABASE_URL).`,
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}
