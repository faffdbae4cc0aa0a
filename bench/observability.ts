// The cost of observability, end to end: Tidings (api + worker, one process, as `npm start`
// runs it) publishes and delivers the same load with metrics off, metrics on, and metrics on
// with tracing (to an OTLP sink in this process that drops what it gets). Configurations
// alternate round by round so that a drift of the machine hits them alike; each round reports
// throughput (events/s, first publish to last receipt) and the service's CPU per event (user +
// system, from /proc), the steadier of the two on a busy machine. Target (issue 19): metrics
// on costs under 3 % with tracing off.
//
//   npm run build && npx tsx bench/observability.ts [--engine pg|pglite] [--events 20000]
//     [--rounds 5] [--concurrency 64] [--tracing] [--dev] [--out bench/results/FILE.md]
//
// --dev runs the sources through tsx instead of dist/. PostgreSQL: TEST_DATABASE_URL or
// postgres://postgres@127.0.0.1:5432/test (a schema per run, dropped after).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { cpuSeconds, rssBytes } from './procStats.js';

const BIN = fileURLToPath(new URL('../bin/tidings.js', import.meta.url));
const TOKEN = 'bench-observability-token-0123456789';

const { values: opt } = parseArgs({
  options: {
    engine: { type: 'string', default: 'pg' },
    events: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '64' },
    tracing: { type: 'boolean', default: false },
    dev: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const EVENTS = Number(opt.events);
const ROUNDS = Number(opt.rounds);
const CONCURRENCY = Number(opt.concurrency);
const PG_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

interface Config {
  name: string;
  env: Record<string, string>;
}

interface Round {
  config: string;
  eventsPerS: number;
  cpuUsPerEvent: number;
  rssMb: number;
}

/** A receiver that answers 200 at once and counts. */
async function receiver(): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n += 1;
      res.writeHead(200).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => n,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function store(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tidings-obs-'));
  if (opt.engine === 'pglite')
    return {
      env: { TIDINGS_DATA_DIR: dir },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  const schema = `obs_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(sql).finally(() => c.end());
  };
  await admin(`CREATE SCHEMA ${schema}`);
  return {
    env: { DATABASE_URL: PG_URL, TIDINGS_DB_SCHEMA: schema, TIDINGS_DATA_DIR: dir },
    async drop() {
      await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startService(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const port = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const proc = spawn(process.execPath, [BIN, 'serve', '--roles', 'api,worker'], {
    env: {
      ...process.env,
      TIDINGS_DEV: opt.dev ? '1' : '0',
      TIDINGS_PORT: String(port),
      TIDINGS_ADMIN_TOKEN: TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_WORKER_CONCURRENCY: String(CONCURRENCY),
      TIDINGS_LOG_LEVEL: 'warn',
      TIDINGS_LOG_FORMAT: 'json',
      TIDINGS_RATE_LIMIT_PER_S: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (proc.exitCode !== null) throw new Error(`the service exited:\n${out}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { proc, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the service did not start:\n${out}`);
}

async function call(url: string, method: string, p: string, body: unknown): Promise<unknown> {
  const res = await fetch(url + p, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function round(config: Config, otlp: string): Promise<Round> {
  const rx = await receiver();
  const db = await store();
  const env = { ...db.env, ...config.env };
  if (config.env.OTEL_EXPORTER_OTLP_ENDPOINT === 'sink') env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp;
  const { proc, url } = await startService(env);
  try {
    await call(url, 'PUT', '/v1/event-types/bench.ping', {});
    await call(url, 'POST', '/v1/tenants', { id: 'bench', name: 'Bench' });
    await call(url, 'POST', '/v1/tenants/bench/endpoints', {
      url: `${rx.url}/in`,
      max_in_flight: CONCURRENCY,
    });
    const cpu0 = cpuSeconds(proc.pid!);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < EVENTS) {
          next += 1;
          await call(url, 'POST', '/v1/tenants/bench/events', { type: 'bench.ping', payload: { n: next } });
        }
      }),
    );
    while (rx.count() < EVENTS) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(proc.pid!) - cpu0;
    return {
      config: config.name,
      eventsPerS: EVENTS / seconds,
      cpuUsPerEvent: (cpu / EVENTS) * 1e6,
      rssMb: rssBytes(proc.pid!) / 2 ** 20,
    };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    await rx.close();
    await db.drop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const configs: Config[] = [
    { name: 'metrics off', env: { TIDINGS_METRICS: 'false' } },
    { name: 'metrics on', env: { TIDINGS_METRICS: 'true' } },
  ];
  if (opt.tracing) {
    configs.push({
      name: 'metrics on, tracing on',
      env: {
        TIDINGS_METRICS: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'sink',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      },
    });
  }
  // The OTLP sink: answers every export and keeps nothing.
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order too: first-in-round must not always be the same configuration.
    const order = r % 2 === 0 ? configs : [...configs].reverse();
    for (const c of order) {
      const res = await round(c, otlp);
      rounds.push(res);
      console.error(
        `round ${r + 1}/${ROUNDS} ${c.name}: ${res.eventsPerS.toFixed(0)} events/s, ${res.cpuUsPerEvent.toFixed(0)} µs CPU/event`,
      );
    }
  }
  sink.close();
  const base = rounds.filter((x) => x.config === configs[0]!.name);
  const baseRate = median(base.map((x) => x.eventsPerS));
  const baseCpu = median(base.map((x) => x.cpuUsPerEvent));
  const lines = [
    `# Observability cost, ${new Date().toISOString().slice(0, 10)}, ${opt.engine === 'pg' ? 'PostgreSQL' : 'PGlite'}`,
    '',
    `${EVENTS} events per round to one endpoint (max_in_flight ${CONCURRENCY}), ${CONCURRENCY} publishers over HTTP, ` +
      `one process (api + worker) from ${opt.dev ? 'the sources (tsx)' : 'dist/'}, Node ${process.versions.node}, ` +
      `${ROUNDS} rounds, configurations alternated; medians.`,
    '',
    '| configuration | events/s | vs metrics off | CPU µs/event | vs metrics off | RSS MB |',
    '| --- | --- | --- | --- | --- | --- |',
    ...configs.map((c) => {
      const mine = rounds.filter((x) => x.config === c.name);
      const rate = median(mine.map((x) => x.eventsPerS));
      const cpu = median(mine.map((x) => x.cpuUsPerEvent));
      const pct = (v: number, b: number) => `${v >= b ? '+' : ''}${(((v - b) / b) * 100).toFixed(1)} %`;
      return `| ${c.name} | ${rate.toFixed(0)} | ${pct(rate, baseRate)} | ${cpu.toFixed(0)} | ${pct(cpu, baseCpu)} | ${median(mine.map((x) => x.rssMb)).toFixed(0)} |`;
    }),
    '',
  ];
  const text = lines.join('\n');
  console.log(text);
  if (opt.out) writeFileSync(opt.out, `${text}\n`);
}

await main();
