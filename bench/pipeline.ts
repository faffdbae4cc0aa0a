// The pipeline ceiling: what the HTTP ingest and the signed sender alone cost on this machine.
// The same node:http ingest as the other references, an in-memory FIFO instead of a store (one
// entry per delivery, nothing durable), and the same signed sender (bench/post.ts, one undici
// pool capped at the shared concurrency) keeping every send slot busy while work is queued.
// Runs as its own process, like the service.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Pool } from 'undici';
import { accepted, close, eventsOf, ingestServer, listen, NO_EVENTS, NOT_FOUND } from './ingest.js';
import { serve } from './ipc.js';
import { deliveryPool, postWebhook } from './post.js';
import type { StartArgs } from './systems/helperSystem.js';

interface Job {
  id: string;
  path: string;
  payload: string;
  createdAt: Date;
}

/** An array FIFO with a moving head (Array.shift is O(n) on long queues). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  take(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

let server: http.Server | undefined;
let sender: Pool | undefined;
let endpoints: string[] = [];
let concurrency = 64;
let delivering = false;
let inFlight = 0;
let delivered = 0;
let failed = 0;
let seq = 0;
const run = randomBytes(4).toString('hex');
const queue = new Fifo<Job>();

function pump(): void {
  while (delivering && inFlight < concurrency) {
    const job = queue.take();
    if (!job) return;
    inFlight++;
    void postWebhook(sender!, job.path, job.id, job.payload, job.createdAt).then((out) => {
      inFlight--;
      if (out.ok) delivered++;
      else failed++;
      pump();
    });
  }
}

serve({
  start: async (args: StartArgs & { concurrency: number; timeoutMs: number }) => {
    endpoints = args.paths;
    concurrency = args.concurrency;
    sender = deliveryPool(args.receiverOrigin, args.concurrency, args.timeoutMs);
    server = ingestServer((path, body) => {
      if (path !== '/events' && path !== '/events/batch') return NOT_FOUND;
      const events = eventsOf(path, body);
      if (!events) return NO_EVENTS;
      const createdAt = new Date();
      const ids: string[] = [];
      for (const e of events) {
        const id = `msg_pipe_${run}_${++seq}`;
        const payload = JSON.stringify(e.payload ?? null);
        for (const p of endpoints) queue.push({ id, path: p, payload, createdAt });
        ids.push(id);
      }
      pump();
      return accepted(path, ids, endpoints.length);
    });
    return { origin: await listen(server) };
  },
  work: () => {
    delivering = true;
    pump();
    return true;
  },
  counts: () => ({ delivered, failed, queued: queue.size, inFlight }),
  stop: async () => {
    delivering = false;
    await close(server);
    await sender?.close();
    server = undefined;
    return true;
  },
});
