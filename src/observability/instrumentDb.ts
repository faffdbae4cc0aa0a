// Times every store statement and transaction, labelled by the statement's name (NamedSql;
// "unnamed" otherwise): a wrapper around the Db interface, so both engines are measured the
// same way and neither driver is touched. The names are a fixed set in the code; a cap keeps
// the label bounded anyway.
import type { Db, Queryable, Sql } from '../store/db.js';
import type { TidingsMetrics } from './metrics.js';

function statementName(sql: Sql): string {
  return typeof sql === 'string' ? 'unnamed' : sql.name;
}

function timed(q: Queryable, m: TidingsMetrics): Queryable {
  return {
    async query<T extends object>(sql: Sql, params?: unknown[]): Promise<T[]> {
      const started = process.hrtime.bigint();
      const statement = m.statements.value(statementName(sql));
      try {
        return await q.query<T>(sql, params);
      } catch (err) {
        m.statementErrors.inc({ statement });
        throw err;
      } finally {
        m.statementDuration.observe({ statement }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    },
    exec: (sql) => q.exec(sql),
  };
}

export function instrumentDb(db: Db, m: TidingsMetrics): Db {
  const outside = timed(db, m);
  return {
    engine: db.engine,
    query: outside.query,
    exec: outside.exec,
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const started = process.hrtime.bigint();
      try {
        return await db.tx((q) => fn(timed(q, m)));
      } finally {
        m.transactionDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      }
    },
    listen: (channel, fn) => db.listen(channel, fn),
    notify: (channel, payload) => db.notify(channel, payload),
    close: () => db.close(),
  };
}
