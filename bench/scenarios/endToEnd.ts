// End-to-end deliveries/s: 1 endpoint, 1 KiB payloads, N events, from the first publish to the
// N-th receipt. The publishes are sent over HTTP while the system delivers, as in production.
// The ceiling signs and posts N requests itself, with no store and no ingest.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CpuMeter, type Ctx } from '../context.js';
import type { LoadResult } from '../loops.js';
import type { SystemKey } from '../results.js';
import type { QueueSystem } from '../systems/types.js';
import {
  type Arrival,
  arrivals,
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

function record(ctx: Ctx, system: SystemKey, n: number, got: Arrival): void {
  if (!got.reached) {
    ctx.results.note(
      system,
      NAME,
      `only ${got.count} of ${n} deliveries arrived within ${Math.round(got.ms / 1000)} s`,
    );
  }
  ctx.results.set(system, NAME, E2E_METRIC, (got.count * 1000) / got.ms, '/s');
}

export function profileDir(ctx: Ctx, key: SystemKey, scenario = NAME): string {
  const dir = path.join(ctx.opts.outDir, 'profiles', `${ctx.opts.date}-${key.replace(':', '-')}-${scenario}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export const endToEnd: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    const n = ctx.sizes.e2eEvents;
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
    record(ctx, 'ceiling', n, await got);
    cpu.record('ceiling', NAME);
  },
  async queue(ctx, sys: QueueSystem) {
    const n = ctx.sizes.e2eEvents;
    const profile = ctx.opts.cpuProf && sys.key.startsWith('tidings') ? profileDir(ctx, sys.key) : undefined;
    const pub = await sys.start(['/e2e/0'], {
      deliver: true,
      maxInFlight: ctx.sizes.concurrency,
      ...(profile ? { cpuProfDir: profile } : {}),
    });
    if (profile) ctx.results.note(sys.key, NAME, `CPU profile of the service written to ${profile}`);
    await resetReceiver(ctx);
    const cpu = new CpuMeter(ctx, () => sys.pid());
    const t0 = nowMs();
    const got = arrivals(ctx, '/e2e/', n, t0, ctx.sizes.waitLimitMs);
    const published = await publishClosed(ctx, target(pub, singleBody(ctx)), ctx.sizes.publishClients, n);
    noteFailures(ctx, sys.key, NAME, 'publishes', published);
    ctx.results.set(sys.key, NAME, 'publishes/s meanwhile', rateOf(published), '/s');
    // Failed publishes owe no delivery: wait for what was accepted.
    const final =
      published.ok < n ? await arrivals(ctx, '/e2e/', published.ok, t0, ctx.sizes.waitLimitMs) : await got;
    record(ctx, sys.key, published.ok, final);
    cpu.record(sys.key, NAME);
  },
};
