// The embedded engine: PostgreSQL compiled to WebAssembly, in this process, data in a folder.
// It has one connection; concurrent callers share it through PGlite's own queue, and a
// transaction holds it exclusively until it ends.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { type Db, type Queryable, type Sql, sqlText } from './db.js';

/** Lets timers and sockets run between back-to-back queries, which PGlite otherwise starves. */
const yieldLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function openPglite(dataDir: string | undefined): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = new PGlite({
    ...(dataDir ? { dataDir } : {}),
    // Keep the write-ahead log small: a bulk load otherwise grows it past a gigabyte.
    postgresqlconf: ['max_wal_size = 256MB', 'min_wal_size = 32MB', 'checkpoint_timeout = 60s'],
  });
  await pg.waitReady;
  // Notifications stay inside the process: PGlite has no other connections to reach.
  const bus = new EventEmitter();
  bus.setMaxListeners(0);

  // PGlite has no prepared-statement cache of its own: a name is only a label here.
  const query = async <T extends object>(sql: Sql, params?: unknown[]): Promise<T[]> => {
    const res = await pg.query<T>(sqlText(sql), params as unknown[]);
    await yieldLoop();
    return res.rows;
  };

  return {
    engine: 'pglite',
    query,
    async exec(sql) {
      await pg.exec(sql);
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const result = await pg.transaction(async (t) =>
        fn({
          async query<R extends object>(sql: Sql, params?: unknown[]) {
            const res = await t.query<R>(sqlText(sql), params as unknown[]);
            return res.rows;
          },
          async exec(sql: string) {
            await t.exec(sql);
          },
        }),
      );
      await yieldLoop();
      return result;
    },
    async listen(channel, fn) {
      bus.on(channel, fn);
      return async () => {
        bus.off(channel, fn);
      };
    },
    async notify(channel, payload = '') {
      bus.emit(channel, payload);
    },
    async close() {
      bus.removeAllListeners();
      await pg.close();
    },
  };
}
