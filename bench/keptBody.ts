// What keeping the sent body costs per delivery (issue 14), measured apart from the full bench:
//
// 1. the worker's side: sha256 and brotli (delivery/keptBody.ts: quality 2, on the event loop up
//    to 64 KiB, on the thread pool above), wall time and the process's CPU, per body size;
// 2. the ack's side: the same ack statement (store/deliveries/ack.ts) for batches of results
//    with and without a kept body, alternating A/B on one endpoint's claimed deliveries.
//
//   npx tsx bench/keptBody.ts [--engine pg|pglite] [--batches 20] [--batch 200] [--body 2000]
//
// PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), in a schema of
// its own that is dropped afterwards.

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { bodySha256, keepBody } from '../src/delivery/keptBody.js';
import { recordAttempts } from '../src/store/deliveries/ack.js';
import { claimDeliveries } from '../src/store/deliveries/claim.js';
import type { AttemptResult, ClaimedDelivery } from '../src/store/deliveries/types.js';
import { createEndpoint } from '../src/store/endpoints.js';
import { upsertEventType } from '../src/store/eventTypes.js';
import { migrate } from '../src/store/migrate.js';
import { publishEvents } from '../src/store/publish.js';
import { plainCodec } from '../src/store/secrets.js';
import { createTenant } from '../src/store/tenants.js';
import { openScratchStore } from './scratchStore.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'pg' },
    batches: { type: 'string', default: '20' },
    batch: { type: 'string', default: '200' },
    body: { type: 'string', default: '2000' },
    'ack-only': { type: 'boolean', default: false },
  },
});
const BATCHES = Number(values.batches);
const BATCH = Number(values.batch);
const BODY = Number(values.body);

/** A JSON body of about `n` bytes that compresses like a webhook (keys repeat, values vary). */
function sampleBody(n: number, i: number): string {
  const items: string[] = [];
  let len = 40;
  for (let k = 0; len < n; k++) {
    const item = `{"line_item_id":"li_${i}_${k}","amount_cents":${(i * 7919 + k * 104729) % 100000},"memo":"${randomBytes(6).toString('hex')}","status":"POSTED"}`;
    items.push(item);
    len += item.length + 1;
  }
  return `{"type":"account_update","timestamp":"2026-03-02T09:00:00.000Z","data":{"items":[${items.join(',')}]}}`;
}

type Mode = 'none' | 'hash' | 'body';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function workerSide(): Promise<void> {
  for (const size of [500, 2000, 8000, 32000]) {
    const bodies = Array.from({ length: 2000 }, (_, i) => sampleBody(size, i));
    // Event loop: the hash (and the UTF-8 copy), measured alone.
    let t = performance.now();
    for (const b of bodies) bodySha256(Buffer.from(b, 'utf8'));
    const loopUs = ((performance.now() - t) * 1000) / bodies.length;
    // 64 at a time, like a worker's send slots; CPU counts the thread pool's threads too.
    t = performance.now();
    const cpu0 = process.cpuUsage();
    let packed = 0;
    for (let i = 0; i < bodies.length; i += 64) {
      const kept = bodies.slice(i, i + 64).map((b) => keepBody(b));
      for (const k of kept) packed += (await k.packed)?.length ?? 0;
    }
    const wallUs = ((performance.now() - t) * 1000) / bodies.length;
    const used = process.cpuUsage(cpu0);
    const cpuUs = (used.user + used.system) / bodies.length;
    const raw = bodies.reduce((a, b) => a + Buffer.byteLength(b), 0);
    console.log(
      `body ${size} B: event loop ${loopUs.toFixed(1)} µs/body (sha256), keepBody wall ${wallUs.toFixed(1)} µs/body, CPU ${cpuUs.toFixed(1)} µs/body (64 at a time), compressed to ${((100 * packed) / raw).toFixed(0)} %`,
    );
  }
}

async function ackSide(engine: string): Promise<void> {
  const { db, drop } = await openScratchStore(engine, 'kept', 4);
  try {
    await migrate(db);
    const t0 = new Date('2026-03-02T09:00:00Z');
    await upsertEventType(db, { name: 'loan.updated' }, t0);
    await createTenant(db, { id: 't', name: 't' }, t0);
    await createEndpoint(
      db,
      plainCodec,
      'ep',
      't',
      {
        url: 'https://receiver.example/hook',
        secret: 'whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=',
        max_in_flight: 1000,
      },
      t0,
    );
    const total = 3 * BATCHES * BATCH;
    let n = 0;
    for (let start = 0; start < total; start += 1000) {
      const inputs = Array.from({ length: Math.min(1000, total - start) }, () => {
        n += 1;
        return {
          tenantId: 't',
          id: `ev${n}`,
          type: 'loan.updated',
          payloadJson: `{"i":${n}}`,
          channels: [],
          orderingKey: null,
          idempotencyKey: null,
          requestHash: `h${n}`,
          source: 'api',
          createdAt: t0,
        };
      });
      await db.tx((q) => publishEvents(q, inputs));
    }
    const packedOf = new Map<number, { sha: string; packed: Buffer }>();
    const times: Record<Mode, number[]> = { none: [], hash: [], body: [] };
    const modes: Mode[] = ['none', 'hash', 'body'];
    for (let b = 0; b < 3 * BATCHES; b++) {
      const at = new Date(t0.getTime() + 1000 + 10 * b);
      const claimed: ClaimedDelivery[] = await claimDeliveries(db, {
        now: at,
        leaseUntil: new Date(at.getTime() + 60_000),
        workerId: 'w',
        limit: BATCH,
        perEndpoint: BATCH,
        endpoints: 10,
      });
      const mode = modes[b % 3]!;
      if (mode !== 'none') {
        for (const d of claimed) {
          const k = keepBody(sampleBody(BODY, d.id));
          packedOf.set(d.id, { sha: k.sha256, packed: (await k.packed)! });
        }
      }
      const results: AttemptResult[] = claimed.map((d) => ({
        deliveryId: d.id,
        endpointId: d.endpoint_id,
        attempt: 1,
        startedAt: at,
        durationMs: 3,
        url: d.url,
        status: 200,
        requestHeaders: {
          'webhook-id': d.event_id,
          'webhook-timestamp': '1772442000',
          'webhook-signature': 'v1,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=',
        },
        responseHeaders: { 'content-type': 'application/json' },
        responseBody: '{"ok":true}',
        error: null,
        next: 'succeeded',
        retryAt: null,
        gone: false,
        endpointSequence: d.endpoint_sequence,
        bodySha256: packedOf.get(d.id)?.sha ?? null,
        bodyPacked: mode === 'body' ? (packedOf.get(d.id)?.packed ?? null) : null,
      }));
      const t = performance.now();
      await recordAttempts(db, results, 'w', new Date(at.getTime() + 5));
      const ms = performance.now() - t;
      if (b >= 3) times[mode].push(ms); // the first round warms up
    }
    const none = median(times.none);
    const per = (m: Mode) =>
      `${median(times[m]).toFixed(2)} ms (+${(((median(times[m]) - none) * 1000) / BATCH).toFixed(1)} µs/delivery)`;
    console.log(
      `${engine}: ack of ${BATCH} results, medians of ${times.none.length}: nothing kept ${none.toFixed(2)} ms; hash only ${per('hash')}; hash and ${BODY}-byte body ${per('body')}`,
    );
  } finally {
    await drop();
  }
}

if (!values['ack-only']) await workerSide();
await ackSide(values.engine ?? 'pg');
