// A real PostgreSQL server through a node-postgres pool.
import pg from 'pg';
import type { Db, Queryable, Sql } from './db.js';

// bigint columns (ids, counts) come back as strings by default; our ids fit in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** node-postgres' query config: a named statement is prepared once per connection. */
function config(sql: Sql, params: unknown[] | undefined): pg.QueryConfig {
  return typeof sql === 'string'
    ? { text: sql, values: params as unknown[] }
    : { name: sql.name, text: sql.text, values: params as unknown[] };
}

export interface PgOptions {
  max?: number;
  /** search_path for every connection; tests give each file its own schema. */
  schema?: string;
  applicationName?: string;
}

export async function openPg(url: string, opts: PgOptions = {}): Promise<Db> {
  /** A pool of this store's sessions, with these server settings (`-c name=value`) too. */
  const openPool = (max: number, settings: string[] = []) => {
    const options = [...(opts.schema ? [`search_path=${opts.schema}`] : []), ...settings];
    const p = new pg.Pool({
      connectionString: url,
      max,
      application_name: opts.applicationName ?? 'tidings',
      ...(options.length > 0 ? { options: options.map((o) => `-c ${o}`).join(' ') } : {}),
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its server (a restart) emits here; without a listener it would crash us.
    p.on('error', () => {});
    return p;
  };
  const pool = openPool(opts.max ?? 10);
  // Statements that want a generic plan (NamedSql.plan) run on sessions of their own that
  // have plan_cache_mode = force_generic_plan: the setting is a session's, and the other
  // statements keep PostgreSQL's choice. Opened on the first such statement.
  let genericPool: pg.Pool | undefined;
  const generic = () => {
    genericPool ??= openPool(Math.min(2, opts.max ?? 10), ['plan_cache_mode=force_generic_plan']);
    return genericPool;
  };

  const listeners = new Map<string, Set<(payload: string) => void>>();
  let listenClient: pg.PoolClient | undefined;
  let listenTimer: NodeJS.Timeout | undefined;
  let closed = false;

  async function connectListener(): Promise<void> {
    if (closed || listeners.size === 0) return;
    try {
      const client = await pool.connect();
      client.on('notification', (msg) => {
        for (const fn of listeners.get(msg.channel) ?? []) fn(msg.payload ?? '');
      });
      client.on('error', () => {
        // The server went away: reconnect later; polling covers the gap.
        client.release(true);
        if (listenClient === client) listenClient = undefined;
        scheduleReconnect();
      });
      for (const ch of listeners.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(ch)}`);
      listenClient = client;
    } catch {
      scheduleReconnect();
    }
  }
  function scheduleReconnect() {
    if (closed || listenTimer) return;
    listenTimer = setTimeout(() => {
      listenTimer = undefined;
      void connectListener();
    }, 1000);
    listenTimer.unref();
  }

  return {
    engine: 'pg',
    async exec(sql) {
      await pool.query(sql);
    },
    async query<T extends object>(sql: Sql, params?: unknown[]) {
      const res = await (typeof sql !== 'string' && sql.plan === 'generic' ? generic() : pool).query<T>(
        config(sql, params),
      );
      return res.rows;
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      // A server lost between two statements (a restart) is reported here; without a listener
      // it would crash the process. The next statement fails and the caller retries.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn({
          async query<R extends object>(sql: Sql, params?: unknown[]) {
            const res = await client.query<R>(config(sql, params));
            return res.rows;
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    async listen(channel, fn) {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
        if (listenClient) await listenClient.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }
      set.add(fn);
      if (!listenClient) await connectListener();
      return async () => {
        set.delete(fn);
      };
    },
    async notify(channel, payload = '') {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      closed = true;
      if (listenTimer) clearTimeout(listenTimer);
      listenClient?.release();
      listenClient = undefined;
      await Promise.all([pool.end(), genericPool?.end()]);
    },
  };
}
