// Bulk replay: every given-up delivery a filter matches gets one more attempt, queued in
// short batches (one statement each, its own transaction) so that delivery goes on between
// them: no batch holds more than REPLAY_BATCH queue rows, and the worker is woken after each,
// so the first replayed deliveries are sent while the rest are still being queued.
import type { Db } from '../store/db.js';
import {
  countReplayable,
  endpointsWithFailed,
  type ReplayCursor,
  type ReplayFilter,
  replayFailedBatch,
} from '../store/deliveries/requeue.js';

/** Queue rows per statement: a few hundred keeps each transaction to milliseconds. */
export const REPLAY_BATCH = 250;

export interface ReplayResult {
  matched: number;
  queued: number;
}

export async function replayFailed(
  db: Db,
  f: ReplayFilter,
  o: { dryRun: boolean; now: () => Date; onBatch?: (queued: number) => unknown; batch?: number },
): Promise<ReplayResult> {
  const matched = await countReplayable(db, f);
  if (o.dryRun || matched === 0) return { matched, queued: 0 };
  let queued = 0;
  for (const endpointId of await endpointsWithFailed(db, f.tenantId, f.endpointId)) {
    let after: ReplayCursor | null = null;
    for (;;) {
      const cursor: ReplayCursor | null = after;
      const r: { queued: number; last: ReplayCursor | null } = await db.tx((q) =>
        replayFailedBatch(q, { ...f, endpointId }, cursor, o.batch ?? REPLAY_BATCH, o.now()),
      );
      queued += r.queued;
      if (r.queued > 0) await o.onBatch?.(queued);
      if (!r.last) break;
      after = r.last;
      // Let the worker's claims and acks (on the embedded store, the same connection) run.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { matched, queued };
}
