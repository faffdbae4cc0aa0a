// Pieces every scenario uses: publishing through the load generator, waiting for the receiver,
// and the shape of a scenario.
import type { Ctx } from '../context.js';
import type { PublishTarget } from '../load.js';
import type { LoadResult } from '../loops.js';
import type { ScenarioName } from '../options.js';
import type { SystemKey } from '../results.js';
import type { Publisher, QueueSystem } from '../systems/types.js';
import { EVENT_TYPE, nowMs, payloadJson, publishBody } from '../wire.js';

export interface Scenario {
  name: ScenarioName;
  /** The ceiling's run; absent when the scenario does not apply to a store-less sender. */
  ceiling?(ctx: Ctx): Promise<void>;
  /** The baseline's or Tidings's run. */
  queue(ctx: Ctx, sys: QueueSystem): Promise<void>;
}

export function singleBody(ctx: Ctx): string {
  return publishBody(payloadJson(ctx.sizes.payloadBytes));
}

export function batchBody(ctx: Ctx, events: number): string {
  const one = `{"type":${JSON.stringify(EVENT_TYPE)},"payload":${payloadJson(ctx.sizes.payloadBytes)}}`;
  return `{"events":[${Array.from({ length: events }, () => one).join(',')}]}`;
}

export function target(pub: Publisher, body: string, recordIds = false): PublishTarget {
  return { origin: pub.origin, path: pub.path, headers: pub.headers, body, recordIds };
}

/** Batches of `events` on the system's batch path (the caller checks it has one). */
export function batchTarget(ctx: Ctx, pub: Publisher, events: number): PublishTarget {
  return { ...target(pub, batchBody(ctx, events)), path: pub.batchPath! };
}

/** A figure a system has no value for: [metric, unit, higherIsBetter]. */
export type FigureSpec = [metric: string, unit: string, higherIsBetter?: boolean];

/**
 * When the system has nothing to show in this scenario (its `lacks`), records why against each
 * figure and returns true; the scenario then skips it.
 */
export function lacking(ctx: Ctx, sys: QueueSystem, name: ScenarioName, figures: FigureSpec[]): boolean {
  const why = sys.lacks?.[name];
  if (!why) return false;
  for (const [metric, unit, higher] of figures) ctx.results.absent(sys.key, name, metric, unit, why, higher);
  return true;
}

/** Publishes `count` times with `concurrency` clients (closed loop). */
export function publishClosed(
  ctx: Ctx,
  t: PublishTarget,
  concurrency: number,
  count: number,
): Promise<LoadResult> {
  return ctx.load.call<LoadResult>('closed', { ...t, concurrency, count, deadlineMs: ctx.sizes.waitLimitMs });
}

export function rateOf(r: LoadResult, perRequest = 1): number {
  const ms = r.endAt - r.startAt;
  return ms > 0 ? (r.ok * perRequest * 1000) / ms : 0;
}

/** Says in the results when some publishes failed, so a figure is never silently flattered. */
export function noteFailures(
  ctx: Ctx,
  system: SystemKey,
  scenario: string,
  what: string,
  r: LoadResult,
): void {
  if (r.failed > 0 || r.dropped > 0) {
    ctx.results.note(
      system,
      scenario,
      `${what}: ${r.failed} of ${r.sent} requests failed${r.dropped ? `, ${r.dropped} not sent (gave up, or too many waiting)` : ''}; first error: ${r.firstError ?? '?'}`,
    );
  }
  if (r.ok === 0) throw new Error(`${what}: no request succeeded (${r.firstError ?? 'no error text'})`);
}

export interface Arrival {
  reached: boolean;
  count: number;
  /** Milliseconds from `since` to the n-th arrival (or to giving up). */
  ms: number;
}

/** Resets the receiver's counts (and sets its behaviour) before a run. */
export async function resetReceiver(
  ctx: Ctx,
  cfg: { delayMs?: number; hangPrefix?: string; recordIds?: boolean } = {},
): Promise<void> {
  await ctx.receiver.call('configure', cfg);
}

/** Starts waiting for n requests under prefix; resolve it after the load has been sent. */
export function arrivals(
  ctx: Ctx,
  prefix: string,
  n: number,
  since: number,
  timeoutMs: number,
): Promise<Arrival> {
  return ctx.receiver
    .call<{ reached: boolean; count: number; at: number }>('waitFor', { prefix, n, timeoutMs })
    .then((r) => ({ reached: r.reached, count: r.count, ms: r.at - since }));
}

export function paths(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

export { nowMs };
