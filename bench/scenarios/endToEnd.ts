// End-to-end deliveries/s: 1 endpoint, 1 KiB payloads, N events, from the first publish to the
// N-th receipt. The publishes are sent over HTTP while the system delivers, as in production:
// once as single publishes (N requests), once in batches (N / k requests of k events each, on
// the system's batch route). The raw sender ceiling signs and posts N requests itself, with no
// store and no ingest; it has one figure, shown in both rows.
//
// Beside each rate: the CPU per delivery of the system's process and of all PostgreSQL
// processes, and the statements per delivered event its sessions sent (bench/statements.ts).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CpuMeter, type Ctx } from '../context.js';
import type { PublishTarget } from '../load.js';
import type { LoadResult } from '../loops.js';
import type { CpuUse } from '../procStats.js';
import type { SystemKey } from '../results.js';
import { StatementMeter } from '../statements.js';
import type { Publisher, QueueSystem } from '../systems/types.js';
import {
  type Arrival,
  arrivals,
  batchTarget,
  noteFailures,
  nowMs,
  publishClosed,
  rateOf,
  resetReceiver,
  type Scenario,
  singleBody,
  target,
} from './common.js';

const NAME = 'e2e';
export const E2E_METRIC = 'deliveries/s (1 endpoint, 1 KiB)';

interface Mode {
  /** Row labels: the rate itself, and the prefix of the rows beside it. */
  rate: string;
  prefix: string;
  /** Label of the CPU table and the statements section. */
  run: string;
  /** Events per request. */
  perRequest: number;
  clients: number;
  target(pub: Publisher): PublishTarget;
}

function modes(ctx: Ctx): { single: Mode; batch: Mode } {
  const k = ctx.sizes.e2eBatchEvents;
  return {
    single: {
      rate: E2E_METRIC,
      prefix: 'single publishes',
      run: `${NAME} (single publishes)`,
      perRequest: 1,
      clients: ctx.sizes.publishClients,
      target: (pub) => target(pub, singleBody(ctx)),
    },
    batch: {
      rate: `deliveries/s, batch publish (${k} events per request)`,
      prefix: 'batch publish',
      run: `${NAME} (batch publish)`,
      perRequest: k,
      clients: ctx.sizes.e2eBatchClients,
      target: (pub) => batchTarget(ctx, pub, k),
    },
  };
}

const cpuMetric = (m: Mode) => `${m.prefix}: service CPU per delivery`;
const pgMetric = (m: Mode) => `${m.prefix}: PostgreSQL CPU per delivery`;
const stmtMetric = (m: Mode) => `${m.prefix}: statements per delivered event`;
const publishedMetric = (m: Mode) =>
  m.perRequest === 1 ? 'publishes/s meanwhile' : `${m.prefix}: events published/s meanwhile`;

function recordRate(ctx: Ctx, system: SystemKey, n: number, got: Arrival, metric: string): void {
  if (!got.reached) {
    ctx.results.note(
      system,
      NAME,
      `${metric}: only ${got.count} of ${n} deliveries arrived within ${Math.round(got.ms / 1000)} s`,
    );
  }
  ctx.results.set(system, NAME, metric, (got.count * 1000) / got.ms, '/s');
}

function recordCpu(ctx: Ctx, sys: SystemKey, m: Mode, use: CpuUse, delivered: number, store: boolean): void {
  if (delivered <= 0) return;
  ctx.results.set(sys, NAME, cpuMetric(m), ((use.seconds.sut ?? 0) * 1e6) / delivered, 'µs', false);
  if (sys === 'tidings:pglite')
    ctx.results.absent(sys, NAME, pgMetric(m), 'µs', 'in the service process (PGlite)', false);
  else if (!store) ctx.results.absent(sys, NAME, pgMetric(m), 'µs', 'n/a (no store)', false);
  else ctx.results.set(sys, NAME, pgMetric(m), (use.postgresSeconds * 1e6) / delivered, 'µs', false);
}

export function profileDir(ctx: Ctx, key: SystemKey, scenario = NAME): string {
  const dir = path.join(ctx.opts.outDir, 'profiles', `${ctx.opts.date}-${key.replace(':', '-')}-${scenario}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Starts counting the system's statements, or records why there is no count. */
async function statementMeter(ctx: Ctx, sys: QueueSystem, m: Mode): Promise<StatementMeter | undefined> {
  const metric = stmtMetric(m);
  const scope = sys.statementScope();
  let why: string | undefined;
  if (sys.key === 'tidings:pglite') why = 'n/a (PGlite: no server log)';
  else if (sys.key === 'pipeline') why = 'n/a (no store)';
  else if (ctx.statementsOff) why = ctx.statementsOff;
  else if (!scope) why = 'not counted (no sessions to follow)';
  if (why) {
    ctx.results.absent(sys.key, NAME, metric, '/event', why, false);
    return undefined;
  }
  return StatementMeter.begin(ctx.serverLog, scope!, ctx.opts.databaseUrl);
}

async function runQueue(ctx: Ctx, sys: QueueSystem, m: Mode): Promise<void> {
  const n = ctx.sizes.e2eEvents;
  const requests = Math.ceil(n / m.perRequest);
  const want = requests * m.perRequest;
  const profile =
    ctx.opts.cpuProf && sys.key.startsWith('tidings') && m.perRequest === 1
      ? profileDir(ctx, sys.key)
      : undefined;
  const pub = await sys.start(['/e2e/0'], {
    deliver: true,
    maxInFlight: ctx.sizes.concurrency,
    logStatements: ctx.statementsOff === undefined,
    ...(profile ? { cpuProfDir: profile } : {}),
  });
  if (m.perRequest > 1 && !pub.batchPath) {
    ctx.results.absent(sys.key, NAME, m.rate, '/s', 'no batch publish route');
    return;
  }
  if (profile) ctx.results.note(sys.key, NAME, `CPU profile of the service written to ${profile}`);
  await resetReceiver(ctx);
  const statements = await statementMeter(ctx, sys, m);
  const cpu = new CpuMeter(ctx, () => sys.pid());
  const t0 = nowMs();
  const got = arrivals(ctx, '/e2e/', want, t0, ctx.sizes.waitLimitMs);
  const published: LoadResult = await publishClosed(ctx, m.target(pub), m.clients, requests);
  noteFailures(ctx, sys.key, NAME, `${m.prefix}`, published);
  ctx.results.set(sys.key, NAME, publishedMetric(m), rateOf(published, m.perRequest), '/s');
  // Failed publishes owe no delivery: wait for what was accepted.
  const accepted = published.ok * m.perRequest;
  const final =
    accepted < want ? await arrivals(ctx, '/e2e/', accepted, t0, ctx.sizes.waitLimitMs) : await got;
  const use = cpu.measure();
  cpu.record(sys.key, m.run, use);
  recordRate(ctx, sys.key, accepted, final, m.rate);
  recordCpu(ctx, sys.key, m, use, final.count, sys.key !== 'pipeline');
  if (statements && final.count > 0) {
    const c = await statements.end();
    ctx.results.set(sys.key, NAME, stmtMetric(m), c.total / final.count, '/event', false);
    ctx.results.statements.push({ system: sys.key, run: m.run, delivered: final.count, ...c });
  }
}

export const endToEnd: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    const n = ctx.sizes.e2eEvents;
    const { single, batch } = modes(ctx);
    await resetReceiver(ctx);
    const cpu = new CpuMeter(ctx, () => ctx.ceiling.pid);
    const t0 = nowMs();
    const got = arrivals(ctx, '/e2e/', n, t0, ctx.sizes.waitLimitMs);
    const sent = await ctx.ceiling.call<LoadResult>('send', {
      origin: ctx.receiverOrigin,
      paths: ['/e2e/0'],
      count: n,
      concurrency: ctx.sizes.concurrency,
      timeoutMs: ctx.sizes.timeoutMs,
      payloadBytes: ctx.sizes.payloadBytes,
    });
    noteFailures(ctx, 'ceiling', NAME, 'posts', sent);
    const a = await got;
    const use = cpu.measure();
    cpu.record('ceiling', NAME, use);
    // No ingest: the one figure is the reference for both ways of publishing.
    for (const m of [single, batch]) {
      recordRate(ctx, 'ceiling', n, a, m.rate);
      recordCpu(ctx, 'ceiling', m, use, a.count, false);
      ctx.results.absent('ceiling', NAME, stmtMetric(m), '/event', 'n/a (no store)', false);
    }
    ctx.results.note('ceiling', NAME, 'no ingest: its one run is shown in the single and the batch rows');
  },
  async queue(ctx, sys: QueueSystem) {
    const { single, batch } = modes(ctx);
    try {
      await runQueue(ctx, sys, single);
    } finally {
      await sys.stop();
    }
    await runQueue(ctx, sys, batch);
  },
};
