// The ceiling: what this machine does with no platform at all. A raw undici sender (keep-alive
// pool, the same concurrency as the others, HMAC-SHA256 signing per request) posting the same
// bodies to the same receiver, with no store. For the publish scenario it also offers a
// no-store ingest: node:http parsing each body and answering 202.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { accepted, close, eventsOf, ingestServer, listen, NO_EVENTS } from './ingest.js';
import { serve } from './ipc.js';
import { closedLoop, type LoadResult, openLoop, Recorder } from './loops.js';
import { deliveryPool, postWebhook } from './post.js';
import { payloadJson } from './wire.js';

interface SendArgs {
  origin: string;
  /** Paths on the receiver, used round-robin (several paths = several endpoints). */
  paths: string[];
  concurrency: number;
  timeoutMs: number;
  payloadBytes: number;
  recordIds?: boolean;
}

function sender(args: SendArgs, rec: Recorder) {
  const pool = deliveryPool(args.origin, args.concurrency, args.timeoutMs);
  const payload = payloadJson(args.payloadBytes);
  const run = randomBytes(4).toString('hex');
  const send = async (seq: number, stampedAt: number) => {
    const id = `msg_ceil_${run}_${seq}`;
    const out = await postWebhook(pool, args.paths[seq % args.paths.length]!, id, payload, new Date());
    rec.status(out.status ?? 'error');
    if (out.ok) rec.done(stampedAt, args.recordIds ? id : undefined);
    else rec.error(out.error ?? `HTTP ${out.status}`);
  };
  return { pool, send };
}

let ingest: http.Server | undefined;
let ingestSeq = 0;

serve({
  send: async (args: SendArgs & { count: number }): Promise<LoadResult> => {
    const rec = new Recorder();
    const { pool, send } = sender(args, rec);
    await closedLoop(rec, args.concurrency, args.count, send);
    await pool.close();
    return rec.result();
  },
  sendAtRate: async (args: SendArgs & { rate: number; durationMs: number; maxPending: number }) => {
    const rec = new Recorder();
    const { pool, send } = sender(args, rec);
    await openLoop(rec, args.rate, args.durationMs, args.maxPending, send);
    await pool.close();
    return rec.result();
  },
  startIngest: async () => {
    ingest = ingestServer((path, body) => {
      const events = eventsOf(path, body);
      if (!events) return NO_EVENTS;
      return accepted(
        path,
        events.map(() => `msg_ing_${++ingestSeq}`),
        1,
      );
    });
    return { origin: await listen(ingest) };
  },
  stopIngest: async () => {
    if (!ingest) return false;
    await close(ingest);
    ingest = undefined;
    return true;
  },
});
