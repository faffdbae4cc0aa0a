// The one small interface both engines sit behind. Only src/store/ speaks SQL.

export type Row = Record<string, unknown>;

/**
 * A statement with a name: PostgreSQL parses and plans it once per connection (a prepared
 * statement) instead of on every call. Hot statements are named; the name also labels the
 * statement in metrics and logs.
 */
export interface NamedSql {
  name: string;
  text: string;
  /**
   * 'generic': always run with one generic plan (made on the first call, again after the
   * tables' statistics change) instead of leaving the choice to PostgreSQL's plan cache, which
   * keeps planning a statement for each call's values when a generic plan is estimated
   * costlier. For a statement whose planning costs more than its running and whose plan does
   * not depend on its values. Applies outside transactions (autocommit).
   */
  plan?: 'generic';
}

export type Sql = string | NamedSql;

export function sqlText(sql: Sql): string {
  return typeof sql === 'string' ? sql : sql.text;
}

/** Something queries can run on: the whole database or one transaction. */
export interface Queryable {
  query<T extends object = Row>(sql: Sql, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly engine: 'pglite' | 'pg';
  /** Runs fn inside one transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Calls fn for every NOTIFY on channel (PostgreSQL) or every in-process notify (PGlite). */
  listen(channel: string, fn: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload?: string): Promise<void>;
  close(): Promise<void>;
}
