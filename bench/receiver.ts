// The webhook receiver: its own process, so the system under test does not share its event
// loop. node:http with keep-alive, answering 200 (optionally after a delay) and never answering
// paths under the hang prefix. It counts requests per path and, when asked, records the
// receipt time of every webhook-id for the publish → receipt latency join.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from './ipc.js';
import { nowMs } from './wire.js';

export interface ReceiverConfig {
  delayMs?: number;
  /** Requests whose path starts with this are read and never answered. */
  hangPrefix?: string;
  recordIds?: boolean;
}

export interface ReceiverStats {
  total: number;
  byPath: Record<string, number>;
  /** Requests that came without a webhook-signature header (should stay 0). */
  unsigned: number;
  /** Requests whose webhook-id had been seen before (counted only while recording ids). */
  duplicates: number;
  firstAt: number;
  lastAt: number;
}

interface Waiter {
  prefix: string;
  n: number;
  count: number;
  resolve: (v: { reached: boolean; count: number; at: number }) => void;
  timer: NodeJS.Timeout;
}

let config: ReceiverConfig = {};
let byPath = new Map<string, number>();
let total = 0;
let unsigned = 0;
let duplicates = 0;
let firstAt = 0;
let lastAt = 0;
let ids: string[] = [];
let times: number[] = [];
let seen = new Set<string>();
let waiters: Waiter[] = [];
const hung = new Set<http.ServerResponse>();

function reset(next: ReceiverConfig): void {
  for (const res of hung) res.destroy();
  hung.clear();
  config = next;
  byPath = new Map();
  total = 0;
  unsigned = 0;
  duplicates = 0;
  firstAt = 0;
  lastAt = 0;
  ids = [];
  times = [];
  seen = new Set();
  for (const w of waiters) {
    clearTimeout(w.timer);
    w.resolve({ reached: false, count: w.count, at: nowMs() });
  }
  waiters = [];
}

const server = http.createServer((req, res) => {
  const at = nowMs();
  const path = req.url ?? '/';
  total++;
  if (firstAt === 0) firstAt = at;
  lastAt = at;
  byPath.set(path, (byPath.get(path) ?? 0) + 1);
  if (!req.headers['webhook-signature']) unsigned++;
  if (config.recordIds) {
    const id = String(req.headers['webhook-id'] ?? '');
    if (seen.has(id)) duplicates++;
    else seen.add(id);
    ids.push(id);
    times.push(at);
  }
  for (let i = 0; i < waiters.length; i++) {
    const w = waiters[i]!;
    if (!path.startsWith(w.prefix)) continue;
    w.count++;
    if (w.count >= w.n) {
      clearTimeout(w.timer);
      waiters.splice(i--, 1);
      w.resolve({ reached: true, count: w.count, at });
    }
  }
  req.resume();
  req.on('end', () => {
    if (config.hangPrefix && path.startsWith(config.hangPrefix)) {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    };
    if (config.delayMs) setTimeout(answer, config.delayMs);
    else answer();
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

function countPrefix(prefix: string): number {
  let n = 0;
  for (const [p, c] of byPath) if (p.startsWith(prefix)) n += c;
  return n;
}

server.listen(0, '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port;
  serve({
    info: () => ({ port, url: `http://127.0.0.1:${port}` }),
    configure: (args: ReceiverConfig) => {
      reset(args);
      return true;
    },
    stats: (): ReceiverStats => ({
      total,
      byPath: Object.fromEntries(byPath),
      unsigned,
      duplicates,
      firstAt,
      lastAt,
    }),
    count: (args: { prefix?: string }) => countPrefix(args.prefix ?? '/'),
    /** Resolves when n requests under prefix have arrived since the last configure, or at the timeout. */
    waitFor: (args: { prefix?: string; n: number; timeoutMs: number }) => {
      const prefix = args.prefix ?? '/';
      const count = countPrefix(prefix);
      if (count >= args.n) return { reached: true, count, at: lastAt };
      return new Promise((resolve) => {
        const w: Waiter = {
          prefix,
          n: args.n,
          count,
          resolve,
          timer: setTimeout(() => {
            waiters.splice(waiters.indexOf(w), 1);
            resolve({ reached: false, count: w.count, at: nowMs() });
          }, args.timeoutMs),
        };
        waiters.push(w);
      });
    },
    ids: () => ({ ids, at: Float64Array.from(times) }),
  });
});
