// Latency: publish → receipt p50/p95/p99 at a fixed rate of half the system's measured maximum
// (its end-to-end deliveries/s in this run). Publishes are stamped with their scheduled send
// time (open loop), the receiver stamps each webhook-id's arrival, and the two are joined here.
// The load runs for a warm-up (Sizes.latencyWarmupMs) and then the measured window, at one
// rate without a break; the warm-up's publishes are left out of the percentiles and reported
// as a p99 of their own, since every system starts fresh for this scenario and its first
// second or two (cold code, a fresh schema) says how it starts, not how it runs at half load.
import { CpuMeter, type Ctx } from '../context.js';
import type { LoadResult } from '../loops.js';
import type { SystemKey } from '../results.js';
import { joinLatency, percentiles, sortNumbers } from '../stats.js';
import type { QueueSystem } from '../systems/types.js';
import { arrivals, noteFailures, nowMs, resetReceiver, type Scenario, singleBody, target } from './common.js';
import { E2E_METRIC } from './endToEnd.js';

const NAME = 'latency';
const WARMUP_METRIC = 'publish → receipt p99 during the warm-up (fresh process, not in the figures above)';

function rateFor(ctx: Ctx, system: SystemKey): number {
  const max = ctx.results.value(system, 'e2e', E2E_METRIC);
  if (max === undefined || !(max > 0)) {
    ctx.results.note(
      system,
      NAME,
      `end-to-end maximum unknown (scenario not run or failed): fixed rate ${ctx.sizes.latencyFallbackRate}/s`,
    );
    return ctx.sizes.latencyFallbackRate;
  }
  return Math.max(1, Math.round(max / 2));
}

async function finish(
  ctx: Ctx,
  system: SystemKey,
  sent: LoadResult,
  rate: number,
  since: number,
): Promise<void> {
  noteFailures(ctx, system, NAME, 'publishes', sent);
  await arrivals(ctx, '/lat/', sent.ok, since, ctx.sizes.waitLimitMs);
  const received = await ctx.receiver.call<{ ids: string[]; at: Float64Array }>('ids');
  const { latencies, warmup, missing } = joinLatency(sent, received, ctx.sizes.latencyWarmupMs);
  if (missing > 0) ctx.results.note(system, NAME, `${missing} published events never arrived`);
  if (latencies.length === 0) throw new Error('no publish could be matched to a receipt');
  const pct = percentiles(latencies);
  ctx.results.latency.set(system, { sorted: sortNumbers(latencies), pct, rate });
  ctx.results.set(system, NAME, 'fixed rate (half of e2e max)', rate, '/s');
  ctx.results.set(system, NAME, 'publish → receipt p50', pct.p50, 'ms', false);
  ctx.results.set(system, NAME, 'publish → receipt p95', pct.p95, 'ms', false);
  ctx.results.set(system, NAME, 'publish → receipt p99', pct.p99, 'ms', false);
  if (warmup.length > 0) ctx.results.set(system, NAME, WARMUP_METRIC, percentiles(warmup).p99, 'ms', false);
}

export const latency: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    const rate = rateFor(ctx, 'ceiling');
    await resetReceiver(ctx, { recordIds: true });
    const cpu = new CpuMeter(ctx, () => ctx.ceiling.pid);
    const t0 = nowMs();
    const sent = await ctx.ceiling.call<LoadResult>('sendAtRate', {
      origin: ctx.receiverOrigin,
      paths: ['/lat/0'],
      rate,
      durationMs: ctx.sizes.latencyWarmupMs + ctx.sizes.latencyDurationMs,
      concurrency: ctx.sizes.concurrency,
      maxPending: 100_000,
      timeoutMs: ctx.sizes.timeoutMs,
      payloadBytes: ctx.sizes.payloadBytes,
      recordIds: true,
    });
    await finish(ctx, 'ceiling', sent, rate, t0);
    cpu.record('ceiling', NAME);
  },
  async queue(ctx, sys: QueueSystem) {
    const rate = rateFor(ctx, sys.key);
    const pub = await sys.start(['/lat/0'], { deliver: true, maxInFlight: ctx.sizes.concurrency });
    await resetReceiver(ctx, { recordIds: true });
    const cpu = new CpuMeter(ctx, () => sys.pid());
    const t0 = nowMs();
    const sent = await ctx.load.call<LoadResult>('open', {
      ...target(pub, singleBody(ctx), true),
      rate,
      durationMs: ctx.sizes.latencyWarmupMs + ctx.sizes.latencyDurationMs,
      connections: ctx.sizes.publishClients,
      maxPending: 100_000,
    });
    await finish(ctx, sys.key, sent, rate, t0);
    cpu.record(sys.key, NAME);
  },
};
