// Fan-out: one event owed to 100 endpoints. Reports how fast such publishes are answered and
// how fast all their deliveries arrive. The ceiling posts the same number of requests spread
// over the same 100 receiver paths.
import { CpuMeter } from '../context.js';
import type { LoadResult } from '../loops.js';
import { percentiles } from '../stats.js';
import type { QueueSystem } from '../systems/types.js';
import {
  arrivals,
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

const NAME = 'fanout';

export const fanout: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    const s = ctx.sizes;
    const n = s.fanoutEvents * s.fanoutEndpoints;
    await resetReceiver(ctx);
    const cpu = new CpuMeter(ctx, () => ctx.ceiling.pid);
    const t0 = nowMs();
    const got = arrivals(ctx, '/fan/', n, t0, s.waitLimitMs);
    const sent = await ctx.ceiling.call<LoadResult>('send', {
      origin: ctx.receiverOrigin,
      paths: paths('/fan/', s.fanoutEndpoints),
      count: n,
      concurrency: s.concurrency,
      timeoutMs: s.timeoutMs,
      payloadBytes: s.payloadBytes,
    });
    noteFailures(ctx, 'ceiling', NAME, 'posts', sent);
    const a = await got;
    ctx.results.set(
      'ceiling',
      NAME,
      `deliveries/s (1 event → ${s.fanoutEndpoints} endpoints)`,
      (a.count * 1000) / a.ms,
      '/s',
    );
    cpu.record('ceiling', NAME);
  },
  async queue(ctx, sys: QueueSystem) {
    const s = ctx.sizes;
    const pub = await sys.start(paths('/fan/', s.fanoutEndpoints), { deliver: true });
    await resetReceiver(ctx);
    const cpu = new CpuMeter(ctx, () => sys.pid());
    const t0 = nowMs();
    const want = s.fanoutEvents * s.fanoutEndpoints;
    const got = arrivals(ctx, '/fan/', want, t0, s.waitLimitMs);
    const published = await publishClosed(ctx, target(pub, singleBody(ctx)), s.fanoutClients, s.fanoutEvents);
    noteFailures(ctx, sys.key, NAME, 'fan-out publishes', published);
    const answer = percentiles(published.requestMs);
    ctx.results.set(
      sys.key,
      NAME,
      `fan-out publish answer p50 (${s.fanoutClients} clients)`,
      answer.p50,
      'ms',
      false,
    );
    ctx.results.set(
      sys.key,
      NAME,
      'deliveries created/s by publishing',
      rateOf(published, s.fanoutEndpoints),
      '/s',
    );
    const accepted = published.ok * s.fanoutEndpoints;
    const a = accepted < want ? await arrivals(ctx, '/fan/', accepted, t0, s.waitLimitMs) : await got;
    if (!a.reached) ctx.results.note(sys.key, NAME, `only ${a.count} of ${accepted} deliveries arrived`);
    ctx.results.set(
      sys.key,
      NAME,
      `deliveries/s (1 event → ${s.fanoutEndpoints} endpoints)`,
      (a.count * 1000) / a.ms,
      '/s',
    );
    cpu.record(sys.key, NAME);
  },
};
