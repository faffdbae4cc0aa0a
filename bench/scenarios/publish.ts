// Publish throughput over HTTP: single publishes from N concurrent clients, and batches where
// the system has a batch route. Nothing is delivered meanwhile (Tidings runs the api role only,
// the baseline starts no workers), so the figure is the ingest path alone. The ceiling is a
// node:http server that parses each body and answers 202 with no store.
import { CpuMeter, type Ctx } from '../context.js';
import type { LoadResult } from '../loops.js';
import type { SystemKey } from '../results.js';
import { percentiles } from '../stats.js';
import type { Publisher, QueueSystem } from '../systems/types.js';
import {
  batchBody,
  noteFailures,
  publishClosed,
  rateOf,
  type Scenario,
  singleBody,
  target,
} from './common.js';

const NAME = 'publish';

async function measure(ctx: Ctx, system: SystemKey, pub: Publisher, sut: () => number): Promise<void> {
  const s = ctx.sizes;
  const cpu = new CpuMeter(ctx, sut);
  const single: LoadResult = await publishClosed(
    ctx,
    target(pub, singleBody(ctx)),
    s.publishClients,
    s.publishCount,
  );
  noteFailures(ctx, system, NAME, 'single publishes', single);
  const lat = percentiles(single.requestMs);
  const label = `single, ${s.publishClients} clients`;
  ctx.results.set(system, NAME, `${label}: publishes/s`, rateOf(single), '/s');
  ctx.results.set(system, NAME, `${label}: answer p50`, lat.p50, 'ms', false);
  ctx.results.set(system, NAME, `${label}: answer p99`, lat.p99, 'ms', false);

  const batchMetric = `batches of ${s.batchEvents}: events/s`;
  if (!pub.batchPath) {
    ctx.results.absent(system, NAME, batchMetric, '/s', 'no batch publish route');
    cpu.record(system, NAME);
    return;
  }
  const batch = await publishClosed(
    ctx,
    { ...target(pub, batchBody(ctx, s.batchEvents)), path: pub.batchPath },
    s.publishClients,
    s.batchCount,
  );
  noteFailures(ctx, system, NAME, 'batch publishes', batch);
  ctx.results.set(system, NAME, batchMetric, rateOf(batch, s.batchEvents), '/s');
  cpu.record(system, NAME);
}

export const publish: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    const { origin } = await ctx.ceiling.call<{ origin: string }>('startIngest');
    try {
      await measure(
        ctx,
        'ceiling',
        {
          origin,
          path: '/events',
          batchPath: '/events/batch',
          headers: { 'content-type': 'application/json' },
        },
        () => ctx.ceiling.pid,
      );
    } finally {
      await ctx.ceiling.call('stopIngest');
    }
  },
  async queue(ctx, sys: QueueSystem) {
    const pub = await sys.start(['/publish/0'], { deliver: false });
    await measure(ctx, sys.key, pub, () => sys.pid());
  },
};
