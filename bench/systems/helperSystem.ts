// The reference systems that run as one bench/<file>.ts helper process each (the pipeline
// ceiling, the durable floor, the pg-boss baseline): a fresh process per run, started with
// `start`, delivering after `work`, stopped (and its store dropped) with `stop`.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Ctx } from '../context.js';
import { Helper } from '../ipc.js';
import type { ScenarioName } from '../options.js';
import type { ReferenceKey } from '../results.js';
import type { StatementScope } from '../statements.js';
import type { Publisher, QueueSystem, StartOptions } from './types.js';

/** What every helper's `start` command gets. */
export interface StartArgs {
  receiverOrigin: string;
  paths: string[];
}

/** What a helper with a PostgreSQL store gets besides: where, its settings, whether to log statements. */
export interface StoredStartArgs<S> extends StartArgs {
  databaseUrl: string;
  schema: string;
  settings: S;
  logStatements: boolean;
}

/** A schema name of its own per run, so two runs on one server never drop each other's tables. */
export function runSchema(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Drops a reference system's schema (its helper calls this before and after a run). */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await admin.end();
  }
}

// Schemas of helpers still running, dropped if the harness is interrupted (the helpers exit with it).
const liveSchemas = new Map<string, { databaseUrl: string; schema: string }>();

export async function cleanUpSchemas(): Promise<void> {
  await Promise.allSettled([...liveSchemas.values()].map((s) => dropSchema(s.databaseUrl, s.schema)));
}

export abstract class HelperSystem implements QueueSystem {
  abstract readonly key: ReferenceKey;
  readonly lacks?: Partial<Record<ScenarioName, string>>;
  protected helper: Helper | undefined;
  /** The application_name of its PostgreSQL sessions, when it has a store. */
  protected readonly applicationName: string | undefined = undefined;

  constructor(
    protected readonly ctx: Ctx,
    private readonly file: string,
  ) {}

  /** The arguments of the helper's `start` command (beside receiverOrigin and paths). */
  protected abstract startArgs(opts: StartOptions): Record<string, unknown>;

  /** Start arguments of a helper with a store: a fresh schema named `${prefix}_…`. */
  protected storeArgs<S>(
    prefix: string,
    settings: S,
    opts: StartOptions,
  ): Omit<StoredStartArgs<S>, keyof StartArgs> {
    return {
      databaseUrl: this.ctx.opts.databaseUrl,
      schema: runSchema(prefix),
      settings,
      logStatements: opts.logStatements ?? false,
    };
  }

  abstract settings(): Record<string, string>;

  pid(): number {
    return this.helper?.pid ?? 0;
  }

  statementScope(): StatementScope | undefined {
    if (!this.applicationName) return undefined;
    const database = new URL(this.ctx.opts.databaseUrl).pathname.slice(1) || 'postgres';
    return { database, applicationName: this.applicationName };
  }

  async start(paths: string[], opts: StartOptions): Promise<Publisher> {
    this.helper = await Helper.start(this.file);
    const args = this.startArgs(opts);
    if (typeof args.schema === 'string' && typeof args.databaseUrl === 'string')
      liveSchemas.set(this.key, { databaseUrl: args.databaseUrl, schema: args.schema });
    const { origin } = await this.helper.call<{ origin: string }>('start', {
      receiverOrigin: this.ctx.receiverOrigin,
      paths,
      ...args,
    });
    if (opts.deliver) await this.helper.call('work');
    return {
      origin,
      path: '/events',
      batchPath: '/events/batch',
      headers: { 'content-type': 'application/json' },
    };
  }

  async deliver(): Promise<void> {
    await this.helper!.call('work');
  }

  async stop(): Promise<void> {
    if (!this.helper) return;
    await this.helper.call('stop').catch(() => {});
    await this.helper.stop();
    this.helper = undefined;
    liveSchemas.delete(this.key);
  }
}
