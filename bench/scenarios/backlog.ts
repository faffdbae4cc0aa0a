// Backlog: N pending deliveries drained. Seeded fast by publishing fan-out events (1 event → 100
// endpoints) while nothing delivers (Tidings: the api role alone; pg-boss: no workers), then
// delivery starts (Tidings: a new process with the worker role alone). The drain rate and the
// resident memory of the delivering process are sampled every second: memory must stay flat.
import { CpuMeter, type Ctx } from '../context.js';
import type { Options } from '../options.js';
import { rssBytes } from '../procStats.js';
import type { BacklogSample } from '../results.js';
import { percentile, sortNumbers } from '../stats.js';
import type { QueueSystem } from '../systems/types.js';
import {
  lacking,
  noteFailures,
  nowMs,
  paths,
  publishClosed,
  rateOf,
  resetReceiver,
  type Scenario,
  singleBody,
  target,
} from './common.js';
import { profileDir } from './endToEnd.js';

const NAME = 'backlog';
const MB = 1024 * 1024;

/**
 * What the references (measured once per run) drain: the full backlog, which PostgreSQL's
 * Tidings drains too, or in a run of PGlite alone PGlite's smaller one
 * (backlogDeliveriesPglite), so that the ratios compare rates at one size.
 */
export function referenceBacklog(opts: Options): number {
  return opts.engines.includes('pg') ? opts.sizes.backlogDeliveries : opts.sizes.backlogDeliveriesPglite;
}

function sizeFor(ctx: Ctx, sys: QueueSystem): number {
  return sys.key === 'tidings:pglite' ? ctx.sizes.backlogDeliveriesPglite : referenceBacklog(ctx.opts);
}

async function drain(ctx: Ctx, sys: QueueSystem, n: number): Promise<BacklogSample[]> {
  const samples: BacklogSample[] = [];
  const profile =
    ctx.opts.cpuProf && sys.key.startsWith('tidings') ? profileDir(ctx, sys.key, 'backlog') : undefined;
  if (profile) ctx.results.note(sys.key, NAME, `CPU profile of the draining worker written to ${profile}`);
  // The clock starts once the delivering process is up (a Tidings worker process boots first).
  await sys.deliver(profile);
  const t0 = nowMs();
  let last = 0;
  let lastT = 0;
  const deadline = t0 + ctx.sizes.drainLimitMs;
  for (;;) {
    const wait = ctx.opts.quick ? 250 : 1000;
    await new Promise((r) => setTimeout(r, wait));
    const delivered = await ctx.receiver.call<number>('count', { prefix: '/bl/' });
    const t = (nowMs() - t0) / 1000;
    samples.push({
      t,
      delivered,
      rate: t > lastT ? (delivered - last) / (t - lastT) : 0,
      rssMb: rssBytes(sys.pid()) / MB,
    });
    last = delivered;
    lastT = t;
    if (delivered >= n || nowMs() > deadline) break;
  }
  return samples;
}

export const backlog: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    ctx.results.absent('ceiling', NAME, 'drain: deliveries/s overall', '/s', 'n/a (no store)');
  },
  async queue(ctx, sys) {
    if (lacking(ctx, sys, NAME, [['drain: deliveries/s overall', '/s']])) return;
    const s = ctx.sizes;
    const n = sizeFor(ctx, sys);
    const events = Math.ceil(n / s.backlogEndpoints);
    const total = events * s.backlogEndpoints;
    if (sys.key === 'tidings:pglite' && n !== s.backlogDeliveries) {
      ctx.results.note(
        sys.key,
        NAME,
        `PGlite backlog reduced to ${total} deliveries (PostgreSQL: ${s.backlogDeliveries})`,
      );
    }
    const pub = await sys.start(paths('/bl/', s.backlogEndpoints), { deliver: false });
    const seedCpu = new CpuMeter(ctx, () => sys.pid());
    const seeded = await publishClosed(ctx, target(pub, singleBody(ctx)), s.publishClients, events);
    noteFailures(ctx, sys.key, NAME, 'seeding publishes', seeded);
    seedCpu.record(sys.key, `${NAME} (seeding)`);
    const pending = seeded.ok * s.backlogEndpoints;
    ctx.results.set(sys.key, NAME, 'pending deliveries seeded', pending, '');
    ctx.results.set(sys.key, NAME, 'seeding: deliveries created/s', rateOf(seeded, s.backlogEndpoints), '/s');

    await resetReceiver(ctx);
    const drainCpu = new CpuMeter(ctx, () => sys.pid());
    const samples = await drain(ctx, sys, pending);
    drainCpu.record(sys.key, `${NAME} (drain)`);
    ctx.results.backlog.set(sys.key, samples);
    const end = samples[samples.length - 1];
    if (!end) throw new Error('no drain sample');
    if (end.delivered < pending) {
      ctx.results.note(
        sys.key,
        NAME,
        `drain stopped after ${Math.round(end.t)} s with ${end.delivered} of ${pending} delivered`,
      );
    }
    const rates = sortNumbers(
      samples.filter((x) => x.delivered > 0 && x.delivered < pending).map((x) => x.rate),
    );
    const rss = samples.map((x) => x.rssMb).filter((x) => x > 0);
    ctx.results.set(sys.key, NAME, 'drain: deliveries/s overall', end.delivered / end.t, '/s');
    if (rates.length)
      ctx.results.set(sys.key, NAME, 'drain: median of 1 s rates', percentile(rates, 50), '/s');
    if (rss.length) {
      ctx.results.set(sys.key, NAME, 'RSS at drain start', rss[0]!, 'MB', false);
      ctx.results.set(sys.key, NAME, 'RSS max during drain', Math.max(...rss), 'MB', false);
      ctx.results.set(sys.key, NAME, 'RSS at drain end', rss[rss.length - 1]!, 'MB', false);
    }
  },
};
