// Scale-out: one `--roles api` process and 1, 2, … `--roles worker` processes of Tidings on one
// PostgreSQL database, the end-to-end shape (1 endpoint, 1 KiB, published in batches while
// delivering), deliveries/s for each count of workers. The CPU per delivery of the api, of the
// workers and of PostgreSQL is kept for each run: it says what more cores would give (the
// results file works it out). The endpoint may have every worker's slots in flight at once.
// Only Tidings on PostgreSQL has this shape: PGlite is one process, the references are one each.
import { CpuMeter, type Ctx } from '../context.js';
import type { ScaleOutRun } from '../results.js';
import { TidingsService } from '../systems/tidings.js';
import type { QueueSystem } from '../systems/types.js';
import {
  arrivals,
  batchTarget,
  lacking,
  noteFailures,
  nowMs,
  publishClosed,
  resetReceiver,
  type Scenario,
  singleBody,
  target,
} from './common.js';

const NAME = 'scaleout';

const rateMetric = (workers: number) =>
  `deliveries/s, 1 api + ${workers} worker process${workers === 1 ? '' : 'es'}`;
const cpuMetric = (workers: number) =>
  `${workers} worker${workers === 1 ? '' : 's'}: CPU per delivery (api + workers)`;
const pgMetric = (workers: number) =>
  `${workers} worker${workers === 1 ? '' : 's'}: PostgreSQL CPU per delivery`;

async function once(ctx: Ctx, sys: TidingsService, workers: number): Promise<ScaleOutRun> {
  const s = ctx.sizes;
  const pub = await sys.startScaledOut(['/so/0'], workers, {
    deliver: true,
    maxInFlight: Math.min(1000, s.concurrency * workers),
  });
  try {
    const k = pub.batchPath ? s.e2eBatchEvents : 1;
    const requests = Math.ceil(s.scaleoutEvents / k);
    const t = pub.batchPath ? batchTarget(ctx, pub, k) : target(pub, singleBody(ctx));
    if (!pub.batchPath && workers === 1)
      ctx.results.note(sys.key, NAME, 'no batch publish route: single publishes');
    await resetReceiver(ctx);
    const cpu = new CpuMeter(ctx, () => sys.pids());
    const t0 = nowMs();
    const got = arrivals(ctx, '/so/', requests * k, t0, s.waitLimitMs);
    const published = await publishClosed(
      ctx,
      t,
      pub.batchPath ? s.e2eBatchClients : s.publishClients,
      requests,
    );
    noteFailures(ctx, sys.key, NAME, `publishes (${workers} workers)`, published);
    const accepted = published.ok * k;
    const a = accepted < requests * k ? await arrivals(ctx, '/so/', accepted, t0, s.waitLimitMs) : await got;
    const use = cpu.measure();
    cpu.record(sys.key, `${NAME} (${workers} worker${workers === 1 ? '' : 's'})`, use);
    if (!a.reached)
      ctx.results.note(
        sys.key,
        NAME,
        `${workers} workers: only ${a.count} of ${accepted} deliveries arrived`,
      );
    const n = Math.max(1, a.count);
    const workersSeconds = Object.entries(use.seconds)
      .filter(([role]) => /^sut\d+$/.test(role) && role !== 'sut0')
      .reduce((sum, [, v]) => sum + v, 0);
    return {
      workers,
      delivered: a.count,
      perSecond: (a.count * 1000) / a.ms,
      apiUs: ((use.seconds.sut0 ?? 0) * 1e6) / n,
      workersUs: (workersSeconds * 1e6) / n,
      postgresUs: (use.postgresSeconds * 1e6) / n,
      machineBusy: use.machineBusy,
    };
  } finally {
    await sys.stop();
  }
}

/** Deliveries/s that `cores` cores would sustain if CPU were the only limit (service + PostgreSQL). */
export function projected(run: ScaleOutRun, cores: number): number {
  const us = run.apiUs + run.workersUs + run.postgresUs;
  return us > 0 ? (cores * 1e6) / us : 0;
}

export const scaleout: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    ctx.results.absent('ceiling', NAME, rateMetric(1), '/s', 'n/a (one process)');
  },
  async queue(ctx, sys: QueueSystem) {
    const most = Math.max(1, ctx.sizes.scaleoutWorkers);
    const rows = Array.from({ length: most }, (_, i) => i + 1).map(
      (w) => [rateMetric(w), '/s'] as [string, string],
    );
    if (lacking(ctx, sys, NAME, rows)) return;
    if (!(sys instanceof TidingsService)) throw new Error(`${sys.key}: no scale-out shape`);
    const runs: ScaleOutRun[] = [];
    for (let w = 1; w <= most; w++) {
      const r = await once(ctx, sys, w);
      runs.push(r);
      ctx.results.set(sys.key, NAME, rateMetric(w), r.perSecond, '/s');
      ctx.results.set(sys.key, NAME, cpuMetric(w), r.apiUs + r.workersUs, 'µs', false);
      ctx.results.set(sys.key, NAME, pgMetric(w), r.postgresUs, 'µs', false);
    }
    ctx.results.scaleOut.set(sys.key, runs);
    const last = runs[runs.length - 1]!;
    ctx.results.set(sys.key, NAME, `${most} workers / 1 worker`, last.perSecond / runs[0]!.perSecond, '×');
    for (const cores of [4, 8]) {
      ctx.results.set(
        sys.key,
        NAME,
        `CPU-bound estimate at ${cores} cores (from the ${most}-worker run's CPU per delivery)`,
        projected(last, cores),
        '/s',
      );
    }
  },
};
