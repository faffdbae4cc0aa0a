// The embedded engine: PostgreSQL compiled to WebAssembly, in this process, data in a folder.
// It has one connection; concurrent callers share it through PGlite's own queue, and a
// transaction holds it exclusively until it ends.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { type ExecProtocolResult, PGlite, parse, protocol } from '@electric-sql/pglite';
import type { Db, NamedSql, Queryable, Sql } from './db.js';

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

  const named = namedStatements(pg);
  // Outside a transaction a statement waits for any open one to end (PGlite's transaction
  // lock), as pg.query() does; inside one it only takes the connection (pg.runExclusive).
  const query = async <T extends object>(sql: Sql, params?: unknown[]): Promise<T[]> => {
    const rows =
      typeof sql === 'string'
        ? (await pg.query<T>(sql, params as unknown[])).rows
        : await pg._runExclusiveTransaction(() =>
            pg.runExclusive(() => named.run<T>(sql, params ?? [], true)),
          );
    await yieldLoop();
    return rows;
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
            if (typeof sql === 'string') return (await t.query<R>(sql, params as unknown[])).rows;
            return pg.runExclusive(() => named.run<R>(sql, params ?? [], false));
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

/**
 * Named statements on PGlite's one connection, through its wire protocol: parsed and described
 * once (PREPARE), then only bound and executed. pg.query() parses, analyses and describes its
 * text on every call, which for the hot statements (CTEs of 20-30 nodes) costs more than
 * running them, on the event loop. PostgreSQL's plan cache then decides between custom and
 * generic plans as it does for the pg driver's named statements. Callers hold the connection
 * (pg.runExclusive) around run().
 *
 * Each exchange is one buffer of messages ending in Sync, which PGlite's backend reads to the
 * end in one call: Parse + Describe + Sync to prepare, Bind + Execute + Sync to run. The row
 * description comes from the statement's Describe, kept with it, so an execution needs no
 * Describe of its portal (a prepared statement's result columns do not change; a schema change
 * under it fails the Bind, as on PostgreSQL). After an error the Sync in the same buffer has
 * already ended the extended-protocol exchange, so the connection is ready for the next one.
 */
function namedStatements(pg: PGlite) {
  const { serialize } = protocol;
  type Messages = ExecProtocolResult['messages'];
  /** Parameter type oids and the result's row description of each prepared statement. */
  const prepared = new Map<string, { types: number[]; rowDescription: Messages }>();
  const opts = { syncToFs: false };
  const send = async (...msgs: Uint8Array[]): Promise<Messages> =>
    (await pg.execProtocol(Buffer.concat(msgs), opts)).messages;

  async function prepare(sql: NamedSql) {
    try {
      const messages = await send(
        serialize.parse({ name: sql.name, text: sql.text }),
        serialize.describe({ type: 'S', name: sql.name }),
        serialize.sync(),
      );
      const statement = {
        types: parse.parseDescribeStatementResults(messages),
        rowDescription: messages.filter((m) => m.name === 'rowDescription'),
      };
      prepared.set(sql.name, statement);
      return statement;
    } catch (err) {
      // A statement parsed but not described would make the next parse fail: let it go.
      await send(serialize.close({ type: 'S', name: sql.name }), serialize.sync()).catch(() => undefined);
      throw withQuery(err, sql);
    }
  }

  return {
    async run<T>(sql: NamedSql, params: unknown[], autocommit: boolean): Promise<T[]> {
      const { types, rowDescription } = prepared.get(sql.name) ?? (await prepare(sql));
      const values = params.map((v, i) => {
        if (v === null || v === undefined) return null;
        const serializer = pg.serializers[types[i] ?? 0];
        return serializer ? serializer(v) : String(v);
      });
      let messages: Messages;
      try {
        messages = await send(
          serialize.bind({ statement: sql.name, values }),
          serialize.execute({}),
          serialize.sync(),
        );
      } catch (err) {
        throw withQuery(err, sql);
      }
      if (autocommit) await pg.syncToFs();
      return (parse.parseResults([...rowDescription, ...messages], pg.parsers)[0]?.rows ?? []) as T[];
    },
  };
}

/** The statement's name on an error from it, as pg.query() adds its text. */
function withQuery(err: unknown, sql: NamedSql): unknown {
  if (err instanceof Error && !('query' in err)) Object.assign(err, { query: sql.name });
  return err;
}
