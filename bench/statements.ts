// Statements per delivered event, counted by PostgreSQL itself.
//
// pg_stat_statements would be the natural tool, but it only works when the server was started
// with it in shared_preload_libraries, and the shared server cannot be restarted for a run. So
// the system under test gets `log_statement = all` (and `log_parameter_max_length = 0`, so no
// payload reaches the log) on its own sessions only: Tidings through its fresh database
// (ALTER DATABASE … SET, applied to every session it opens), the durable floor and the pg-boss
// baseline through the options of their connections. Every statement a client sends is then
// one line of the server log (`statement: …` for a simple query, `execute <name>: …` for an
// extended-protocol execution, prepared or not), so the count is exact: not a sample. The lines
// written during a run are read back here and kept if they came from the system's sessions: its
// database, and for the systems sharing the DATABASE_URL database with other work, the backends
// with its application_name (pg_stat_activity, sampled every 250 ms while the run lasts: the
// systems' pools keep their connections, so none is missed).
//
// The cost: the server writes one log line per statement (a few µs of PostgreSQL CPU each; the
// statement's text, never its parameters). It is the same per statement for every system, only
// on during the end-to-end runs, and `--no-statements` turns it off.
import { accessSync, constants, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { logSize } from './explain.js';

/** Settings that make a session log each statement it runs, without the parameters. */
export const LOG_STATEMENT_SETTINGS: Record<string, string> = {
  log_statement: 'all',
  log_parameter_max_length: '0',
};

/** As `-c name=value` for a connection's startup options (PGOPTIONS, pg's `options`). */
export function logStatementOptions(): string {
  return Object.entries(LOG_STATEMENT_SETTINGS)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
}

/** As ALTER DATABASE statements, so every session of a fresh database logs its statements. */
export function logStatementDatabaseSql(db: string): string[] {
  return Object.entries(LOG_STATEMENT_SETTINGS).map(([k, v]) => `ALTER DATABASE ${db} SET ${k} = '${v}'`);
}

/**
 * Why statements cannot be counted against this server, or undefined when they can: setting
 * log_statement needs a superuser, and the log must be readable here.
 */
export async function statementsUnavailable(
  databaseUrl: string,
  logFile: string,
): Promise<string | undefined> {
  if (!StatementMeter.readable(logFile))
    return `not counted (${logFile} not readable; BENCH_PG_LOG names it)`;
  const c = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-harness' });
  try {
    await c.connect();
    const r = await c.query<{ su: string }>("SELECT current_setting('is_superuser') AS su");
    return r.rows[0]?.su === 'on' ? undefined : 'not counted (log_statement needs a superuser connection)';
  } catch (err) {
    return `not counted (${(err as Error).message})`;
  } finally {
    await c.end().catch(() => {});
  }
}

export interface StatementScope {
  /** Only lines from sessions on this database. */
  database: string;
  /** And, when given, only from backends with this application_name (a database shared with others). */
  applicationName?: string;
}

export interface StatementCount {
  total: number;
  /** By prepared-statement name, or by the first words of the statement when unnamed. */
  byName: Record<string, number>;
}

// `%m [%p] %q%u@%d ` then `LOG:  statement: …` or `LOG:  execute <name>[/portal]: …`.
const LINE =
  /\[(\d+)\] [^@\s]*@(\S+) LOG: {2}(?:statement: (.*)|execute(?: fetch from)? ([^:/]+)(?:\/[^:]*)?: (.*))$/;

function keyOf(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().slice(0, 60);
}

/** A statement count over one run: mark the log at the start, read it back at the end. */
export class StatementMeter {
  private readonly pids = new Set<number>();
  private sampler: NodeJS.Timeout | undefined;
  private client: pg.Client | undefined;
  private sampling: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly from: number,
    private readonly scope: StatementScope,
  ) {}

  /** Undefined when the server log cannot be read (the figure is then left out, with the reason). */
  static async begin(
    file: string,
    scope: StatementScope,
    databaseUrl: string,
  ): Promise<StatementMeter | undefined> {
    if (!StatementMeter.readable(file)) return undefined;
    const m = new StatementMeter(file, logSize(file), scope);
    if (scope.applicationName) {
      m.client = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-harness' });
      await m.client.connect();
      await m.sample();
      m.sampler = setInterval(() => {
        m.sampling = m.sampling.then(() => m.sample());
      }, 250);
    }
    return m;
  }

  static readable(file: string): boolean {
    try {
      accessSync(file, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }

  private async sample(): Promise<void> {
    try {
      const r = await this.client!.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
        [this.scope.database, this.scope.applicationName],
      );
      for (const row of r.rows) this.pids.add(row.pid);
    } catch {
      // A missed sample: the next one sees the same long-lived backends.
    }
  }

  async end(): Promise<StatementCount> {
    if (this.client) {
      clearInterval(this.sampler);
      await this.sampling;
      await this.sample();
      await this.client.end().catch(() => {});
    }
    const pids = this.client ? this.pids : undefined;
    const out: StatementCount = { total: 0, byName: {} };
    const size = logSize(this.file);
    if (size <= this.from) return out;
    const lines = createInterface({
      input: createReadStream(this.file, { start: this.from, end: size - 1, encoding: 'utf8' }),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    // A statement whose text starts on the next line (a leading newline) is named by that line.
    let unnamed = false;
    const count = (name: string) => {
      out.total++;
      out.byName[name] = (out.byName[name] ?? 0) + 1;
    };
    for await (const line of lines) {
      if (unnamed) {
        unnamed = false;
        if (line.startsWith('\t')) {
          count(keyOf(line));
          continue;
        }
        count('(empty)');
      }
      if (!line.includes(' LOG:  statement: ') && !line.includes(' LOG:  execute ')) continue;
      const m = LINE.exec(line);
      if (!m || m[2] !== this.scope.database) continue;
      if (pids && !pids.has(Number(m[1]))) continue;
      const sql = m[3] ?? (m[4] === '<unnamed>' ? (m[5] ?? '') : undefined);
      if (sql === undefined) count(m[4]!);
      else if (sql.trim() === '') unnamed = true;
      else count(keyOf(sql));
    }
    if (unnamed) count('(empty)');
    return out;
  }
}
