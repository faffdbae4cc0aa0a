// The load generator: its own process, publishing over HTTP with undici to whichever ingest is
// under test (Tidings, the pg-boss baseline's, or the ceiling's no-store ingest).
import { Pool } from 'undici';
import { serve } from './ipc.js';
import { closedLoop, type LoadResult, openLoop, Recorder } from './loops.js';

export interface PublishTarget {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Keep the `id` of every answer and when its request was sent (for the latency join). */
  recordIds?: boolean;
}

function sender(pool: Pool, t: PublishTarget, rec: Recorder) {
  return async (_seq: number, stampedAt: number) => {
    try {
      const res = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body: t.body });
      rec.status(res.statusCode);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        let id: string | undefined;
        if (t.recordIds) id = String(((await res.body.json()) as { id?: unknown }).id ?? '');
        else await res.body.dump();
        rec.done(stampedAt, id);
      } else {
        rec.error(`HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
      }
    } catch (err) {
      rec.error((err as Error).message);
    }
  };
}

function newPool(origin: string, connections: number): Pool {
  // A publish unanswered for 30 s counts as failed; the run goes on.
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000 });
}

serve({
  closed: async (
    args: PublishTarget & { concurrency: number; count: number; deadlineMs?: number },
  ): Promise<LoadResult> => {
    const pool = newPool(args.origin, args.concurrency);
    const rec = new Recorder();
    await closedLoop(rec, args.concurrency, args.count, sender(pool, args, rec), args.deadlineMs);
    await pool.close();
    return rec.result();
  },
  open: async (
    args: PublishTarget & { rate: number; durationMs: number; connections: number; maxPending: number },
  ): Promise<LoadResult> => {
    const pool = newPool(args.origin, args.connections);
    const rec = new Recorder();
    await openLoop(rec, args.rate, args.durationMs, args.maxPending, sender(pool, args, rec));
    await pool.close();
    return rec.result();
  },
});
