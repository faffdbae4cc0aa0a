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
import { BENCH_SECRET, EVENT_TYPE } from '../wire.js';
import type { Publisher, QueueSystem, StartOptions } from './types.js';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
export const TENANT = 'bench';
export const DB_PREFIX = 'tidings_bench_';

interface Store {
  env: Record<string, string>;
  describe: string;
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

/** A fresh database on the PostgreSQL server, or a fresh PGlite folder. */
export async function freshStore(engine: EngineChoice, databaseUrl: string, explain = false): Promise<Store> {
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
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), TIDINGS_DATA_DIR: dir },
    describe: `PostgreSQL database ${name}`,
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
  private store: Store | undefined;
  private proc: ChildProcess | undefined;
  private output = '';
  private port = 0;

  constructor(
    private readonly ctx: Ctx,
    readonly engine: EngineChoice,
  ) {
    this.key = engine === 'pg' ? ('tidings:pg' as const) : ('tidings:pglite' as const);
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
    return this.proc?.pid ?? 0;
  }

  private get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async spawnRoles(roles: string, cpuProfDir?: string): Promise<void> {
    this.port = await freePort();
    const env: Record<string, string | undefined> = {
      ...process.env,
      TIDINGS_PORT: String(this.port),
      TIDINGS_HOST: '127.0.0.1',
      TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_WORKER_CONCURRENCY: String(this.ctx.sizes.concurrency),
      TIDINGS_REQUEST_TIMEOUT_MS: String(this.ctx.sizes.timeoutMs),
      TIDINGS_LOG_LEVEL: 'warn',
      DATABASE_URL: undefined,
      TIDINGS_DATA_DIR: undefined,
      TIDINGS_DB_SCHEMA: undefined,
      ...this.ctx.opts.tidingsEnv,
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
    this.output = '';
    const proc = spawn(process.execPath, args, { cwd: REPO_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.output = (this.output + text).slice(-8000);
      if (this.ctx.opts.verbose) process.stderr.write(`[tidings ${roles}] ${text}`);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    if (roles.split(',').includes('api')) await this.waitReady(proc);
  }

  private async waitReady(proc: ChildProcess): Promise<void> {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(
          `tidings exited before it was ready (${proc.exitCode ?? proc.signalCode}):\n${this.output}`,
        );
      }
      try {
        const res = await request(`${this.origin}/readyz`);
        await res.body.dump();
        if (res.statusCode === 200) return;
      } catch {
        // Not listening yet.
      }
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
    this.store = await freshStore(this.engine, this.ctx.opts.databaseUrl, this.ctx.opts.explain);
    liveStores.add(this.store);
    await this.spawnRoles(opts.deliver ? 'api,worker' : 'api', opts.cpuProfDir);
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
    return {
      origin: this.origin,
      path: `/v1/tenants/${TENANT}/events`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    };
  }

  async deliver(cpuProfDir?: string): Promise<void> {
    await this.kill();
    await this.spawnRoles('worker', cpuProfDir);
  }

  private async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
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
    await this.kill();
    this.proc = undefined;
    if (this.store) {
      liveStores.delete(this.store);
      await this.store.drop();
    }
    this.store = undefined;
  }
}
