// Tidings itself, as an operator runs it: `node --import tsx src/cli.ts serve --roles …` in its
// own process, on a fresh store per run (a new PostgreSQL database, or a new PGlite data folder),
// set up through its HTTP API like any operator would.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import type { Ctx } from '../context.js';
import { explainSettings } from '../explain.js';
import { REPO_DIR } from '../ipc.js';
import type { EngineChoice } from '../options.js';
import { logStatementDatabaseSql, type StatementScope } from '../statements.js';
import { BENCH_SECRET, EVENT_TYPE } from '../wire.js';
import type { Publisher, QueueSystem, StartOptions } from './types.js';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
export const TENANT = 'bench';
export const DB_PREFIX = 'tidings_bench_';

interface Store {
  env: Record<string, string>;
  describe: string;
  /** The PostgreSQL database (none on PGlite). */
  database?: string;
  drop(): Promise<void>;
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * A fresh database on the PostgreSQL server, or a fresh PGlite folder. `explain` and
 * `logStatements` give the database settings every session of the service then starts with.
 */
export async function freshStore(
  engine: EngineChoice,
  databaseUrl: string,
  { explain = false, logStatements = false } = {},
): Promise<Store> {
  // A data folder on both engines: PGlite keeps its files there, and on PostgreSQL the service
  // keeps its generated encryption key file there (not in the checkout's ./data).
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tidings-bench-'));
  const removeDir = () => rm(dir, { recursive: true, force: true });
  if (engine === 'pglite') {
    return { env: { TIDINGS_DATA_DIR: dir }, describe: `PGlite in ${dir}`, drop: removeDir };
  }
  const name = `${DB_PREFIX}${randomBytes(5).toString('hex')}`;
  await adminQuery(databaseUrl, `CREATE DATABASE ${name}`);
  if (explain) for (const sql of explainSettings(name)) await adminQuery(databaseUrl, sql);
  if (logStatements) for (const sql of logStatementDatabaseSql(name)) await adminQuery(databaseUrl, sql);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), TIDINGS_DATA_DIR: dir },
    describe: `PostgreSQL database ${name}`,
    database: name,
    async drop() {
      await adminQuery(databaseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await removeDir();
    },
  };
}

// Service processes still running; killed if the harness itself exits early, so a crashed or
// interrupted run never leaves a busy service behind on the machine.
const live = new Set<ChildProcess>();
const liveStores = new Set<Store>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** Kills running services and drops their stores (an interrupted run cleans up after itself). */
export async function cleanUpTidings(): Promise<void> {
  for (const p of live) p.kill('SIGKILL');
  await Promise.allSettled([...liveStores].map((s) => s.drop()));
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export class TidingsService implements QueueSystem {
  readonly key;
  readonly lacks;
  private store: Store | undefined;
  /** The service's processes: the first takes publishes (api), others deliver (worker). */
  private procs: ChildProcess[] = [];
  private output = '';
  private port = 0;

  constructor(
    private readonly ctx: Ctx,
    readonly engine: EngineChoice,
  ) {
    this.key = engine === 'pg' ? ('tidings:pg' as const) : ('tidings:pglite' as const);
    this.lacks =
      engine === 'pglite' ? { scaleout: 'n/a (PGlite: one process owns the data folder)' } : undefined;
  }

  settings(): Record<string, string> {
    return {
      command:
        'node --import tsx src/cli.ts serve --roles api,worker (backlog: --roles api, then --roles worker)',
      TIDINGS_WORKER_CONCURRENCY: String(this.ctx.sizes.concurrency),
      TIDINGS_REQUEST_TIMEOUT_MS: String(this.ctx.sizes.timeoutMs),
      TIDINGS_LOG_LEVEL: 'warn',
      store: this.engine === 'pg' ? 'a new PostgreSQL database per run' : 'a new PGlite data folder per run',
      'endpoint max_in_flight': `${this.ctx.sizes.concurrency} in e2e and latency (one endpoint); default (10) elsewhere`,
      ...this.ctx.opts.tidingsEnv,
      'other settings': 'defaults (see src/config.ts SETTINGS)',
    };
  }

  pid(): number {
    return this.procs[0]?.pid ?? 0;
  }

  /** Every running process of the service (api and workers). */
  pids(): number[] {
    return this.procs.map((p) => p.pid ?? 0).filter((p) => p > 0);
  }

  statementScope(): StatementScope | undefined {
    return this.store?.database ? { database: this.store.database } : undefined;
  }

  private get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts one more process with these roles; the first one started takes publishes. */
  private async spawnRoles(roles: string, cpuProfDir?: string): Promise<void> {
    const port = await freePort();
    if (this.procs.length === 0) this.port = port;
    const api = roles.split(',').includes('api');
    // A process without the api role has no /readyz: it is ready when it logs "tidings started"
    // (at info level, which it then keeps; the worker logs little at info).
    const userLevel = this.ctx.opts.tidingsEnv.TIDINGS_LOG_LEVEL;
    const level = api
      ? (userLevel ?? 'warn')
      : ['trace', 'debug'].includes(userLevel ?? '')
        ? userLevel!
        : 'info';
    const env: Record<string, string | undefined> = {
      ...process.env,
      TIDINGS_PORT: String(port),
      TIDINGS_HOST: '127.0.0.1',
      TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_WORKER_CONCURRENCY: String(this.ctx.sizes.concurrency),
      TIDINGS_REQUEST_TIMEOUT_MS: String(this.ctx.sizes.timeoutMs),
      DATABASE_URL: undefined,
      TIDINGS_DATA_DIR: undefined,
      TIDINGS_DB_SCHEMA: undefined,
      ...this.ctx.opts.tidingsEnv,
      TIDINGS_LOG_LEVEL: level,
      ...this.store!.env,
    };
    const args = [
      ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
      '--import',
      'tsx',
      'src/cli.ts',
      'serve',
      '--roles',
      roles,
    ];
    const proc = spawn(process.execPath, args, { cwd: REPO_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(proc);
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    let started = false;
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.output = (this.output + text).slice(-8000);
      if (text.includes('"msg":"tidings started"')) started = true;
      if (this.ctx.opts.verbose) process.stderr.write(`[tidings ${roles}] ${text}`);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    await this.waitReady(proc, api ? () => this.answersReady() : async () => started);
  }

  private async answersReady(): Promise<boolean> {
    try {
      const res = await request(`${this.origin}/readyz`);
      await res.body.dump();
      return res.statusCode === 200;
    } catch {
      return false; // Not listening yet.
    }
  }

  private async waitReady(proc: ChildProcess, ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(
          `tidings exited before it was ready (${proc.exitCode ?? proc.signalCode}):\n${this.output}`,
        );
      }
      if (await ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`tidings was not ready within 90 s:\n${this.output}`);
  }

  private async api(method: 'PUT' | 'POST', route: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await request(`${this.origin}${route}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300)
      throw new Error(`${method} ${route} answered ${res.statusCode}: ${text.slice(0, 500)}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  async start(paths: string[], opts: StartOptions): Promise<Publisher> {
    return this.startWith(paths, opts.deliver ? 'api,worker' : 'api', opts);
  }

  /**
   * The scale-out shape: one `--roles api` process and `workers` `--roles worker` processes on
   * one database, all delivering once this returns.
   */
  async startScaledOut(paths: string[], workers: number, opts: StartOptions): Promise<Publisher> {
    const pub = await this.startWith(paths, 'api', opts);
    for (let i = 0; i < workers; i++) await this.spawnRoles('worker');
    return pub;
  }

  private async startWith(paths: string[], roles: string, opts: StartOptions): Promise<Publisher> {
    this.output = '';
    this.store = await freshStore(this.engine, this.ctx.opts.databaseUrl, {
      explain: this.ctx.opts.explain,
      logStatements: opts.logStatements ?? false,
    });
    liveStores.add(this.store);
    await this.spawnRoles(roles, opts.cpuProfDir);
    await this.api('PUT', `/v1/event-types/${EVENT_TYPE}`, {
      description: 'An invoice was paid (benchmark)',
      default_enabled: true,
    });
    await this.api('POST', '/v1/tenants', { id: TENANT, name: 'Benchmark' });
    for (const p of paths) {
      await this.api('POST', `/v1/tenants/${TENANT}/endpoints`, {
        url: this.ctx.receiverOrigin + p,
        secret: BENCH_SECRET,
        ...(opts.maxInFlight ? { max_in_flight: opts.maxInFlight } : {}),
      });
    }
    const batchPath = `/v1/tenants/${TENANT}/events/batch`;
    return {
      origin: this.origin,
      path: `/v1/tenants/${TENANT}/events`,
      ...((await this.hasRoute(batchPath)) ? { batchPath } : {}),
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    };
  }

  /**
   * Whether the service has a POST route at this path: an empty batch is refused (4xx) by a route
   * that exists; only a missing route answers 404 `route_not_found`.
   */
  private async hasRoute(route: string): Promise<boolean> {
    const res = await request(`${this.origin}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"events":[]}',
    });
    const text = await res.body.text();
    return !(res.statusCode === 404 && text.includes('route_not_found'));
  }

  async deliver(cpuProfDir?: string): Promise<void> {
    await this.killAll();
    await this.spawnRoles('worker', cpuProfDir);
  }

  private async killAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => this.kill(p)));
    this.procs = [];
  }

  private async kill(proc: ChildProcess): Promise<void> {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    // A service that does not stop within 20 s (its event loop stuck, say) is killed; noted.
    const timer = setTimeout(() => {
      this.ctx.log(`tidings (pid ${proc.pid}) did not stop within 20 s of SIGTERM: killed`);
      this.ctx.results.note(
        this.key,
        'stop',
        `pid ${proc.pid} ignored SIGTERM for 20 s (event loop stuck?) and was killed`,
      );
      proc.kill('SIGKILL');
    }, 20_000);
    await gone;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.killAll();
    if (this.store) {
      liveStores.delete(this.store);
      await this.store.drop();
    }
    this.store = undefined;
  }
}
