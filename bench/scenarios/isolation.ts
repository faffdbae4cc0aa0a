// Isolation: the healthy endpoints' deliveries/s while one endpoint beside them never answers
// (each attempt to it holds a connection for the whole timeout), as a ratio to the same run
// where that endpoint answers. Every event goes to every endpoint of the tenant. The ceiling
// has no queue, so nothing to isolate: it has no figure here.
import { CpuMeter, type Ctx } from '../context.js';
import type { QueueSystem } from '../systems/types.js';
import {
  arrivals,
  lacking,
  noteFailures,
  nowMs,
  paths,
  publishClosed,
  resetReceiver,
  type Scenario,
  singleBody,
  target,
} from './common.js';

const NAME = 'isolation';
const HANG = '/iso/x';

async function healthyRate(ctx: Ctx, sys: QueueSystem, hang: boolean): Promise<number> {
  const s = ctx.sizes;
  const healthy = paths('/iso/h', s.isolationEndpoints - 1);
  const pub = await sys.start([...healthy, `${HANG}0`], { deliver: true });
  try {
    await resetReceiver(ctx, hang ? { hangPrefix: HANG } : {});
    const cpu = new CpuMeter(ctx, () => sys.pid());
    const t0 = nowMs();
    const want = s.isolationEvents * healthy.length;
    const got = arrivals(ctx, '/iso/h', want, t0, s.waitLimitMs);
    const published = await publishClosed(
      ctx,
      target(pub, singleBody(ctx)),
      s.publishClients,
      s.isolationEvents,
    );
    noteFailures(ctx, sys.key, NAME, 'publishes', published);
    const accepted = published.ok * healthy.length;
    const a = accepted < want ? await arrivals(ctx, '/iso/h', accepted, t0, s.waitLimitMs) : await got;
    if (!a.reached) {
      ctx.results.note(
        sys.key,
        NAME,
        `${hang ? 'with' : 'without'} the hanging endpoint: only ${a.count} of ${accepted} healthy deliveries arrived`,
      );
    }
    cpu.record(sys.key, `${NAME} (${hang ? 'one hanging' : 'all healthy'})`);
    return (a.count * 1000) / a.ms;
  } finally {
    await sys.stop();
    await resetReceiver(ctx);
  }
}

function metrics(ctx: Ctx): [string, string, string] {
  const k = ctx.sizes.isolationEndpoints;
  return [
    `healthy deliveries/s, ${k} endpoints all answering`,
    `healthy deliveries/s, 1 of ${k} hanging ${ctx.sizes.timeoutMs} ms`,
    'isolation ratio (hanging / all answering)',
  ];
}

export const isolation: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    const [a, b, c] = metrics(ctx);
    ctx.results.absent('ceiling', NAME, a, '/s', 'n/a (no queue)');
    ctx.results.absent('ceiling', NAME, b, '/s', 'n/a (no queue)');
    ctx.results.absent('ceiling', NAME, c, '×', 'n/a (no queue)');
  },
  async queue(ctx, sys) {
    const [a, b, c] = metrics(ctx);
    if (
      lacking(ctx, sys, NAME, [
        [a, '/s'],
        [b, '/s'],
        [c, '×'],
      ])
    )
      return;
    const without = await healthyRate(ctx, sys, false);
    const withHang = await healthyRate(ctx, sys, true);
    ctx.results.set(sys.key, NAME, a, without, '/s');
    ctx.results.set(sys.key, NAME, b, withHang, '/s');
    ctx.results.set(sys.key, NAME, c, without > 0 ? withHang / without : 0, '×');
  },
};
