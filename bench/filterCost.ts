// What payload filters cost at publish (issue 15): one tenant with 100 endpoints, every one
// carrying a filter that the payload passes (so both runs create the same 100 deliveries per
// event and only the filters differ), against the same 100 endpoints with no filter. The
// publish statement is timed directly (store/publish.ts), in rounds that alternate the two
// set-ups so that drift on a shared machine falls on both alike.
//
//   npx tsx bench/filterCost.ts [--engine pglite|pg] [--events 400] [--batch 1] [--rounds 4]
//
// pg uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), in a schema of its own.

import { parseArgs } from 'node:util';
import { compileFilter } from '../src/api/payloadFilter.js';
import type { Db } from '../src/store/db.js';
import { createEndpoint } from '../src/store/endpoints.js';
import type { PublishInput } from '../src/store/events.js';
import { upsertEventType } from '../src/store/eventTypes.js';
import { listMigrations, migrate } from '../src/store/migrate.js';
import { publishEvents } from '../src/store/publish.js';
import { plainCodec } from '../src/store/secrets.js';
import { createTenant } from '../src/store/tenants.js';
import { openScratchStore } from './scratchStore.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'pglite' },
    events: { type: 'string', default: '400' },
    batch: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '4' },
    endpoints: { type: 'string', default: '100' },
  },
});
const EVENTS = Number(values.events);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
const ENDPOINTS = Number(values.endpoints);

const FILTER = {
  amount_cents: { $gte: 100000 },
  currency: { $in: ['EUR', 'USD'] },
  'customer.country': 'FR',
};
const PAYLOAD = JSON.stringify({
  invoice_id: 'inv_0000000001',
  amount_cents: 150000,
  currency: 'EUR',
  customer: { id: 'cus_123', country: 'FR', name: 'Ada Lovelace', email: 'ada@example.com' },
  lines: Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${i}`, qty: i + 1, unit_cents: 1000 * (i + 1) })),
  memo: 'x'.repeat(300),
});

const now = new Date('2026-01-01T00:00:00Z');
let n = 0;

async function setUp(db: Db, tenant: string, filtered: boolean): Promise<void> {
  await createTenant(db, { id: tenant, name: tenant }, now);
  const compiled = compileFilter(FILTER);
  if (!compiled.ok || !compiled.path) throw new Error('filter does not compile');
  for (let i = 0; i < ENDPOINTS; i += 1) {
    await createEndpoint(
      db,
      plainCodec,
      `${tenant}_ep_${i}`,
      tenant,
      {
        url: 'https://example.com/hook',
        secret: 'whsec_x',
        ...(filtered ? { filter: { doc: FILTER, path: compiled.path } } : {}),
      },
      now,
    );
  }
}

/** Milliseconds per event for EVENTS events published in batches of BATCH. */
async function publish(db: Db, tenant: string): Promise<number> {
  const started = process.hrtime.bigint();
  for (let done = 0; done < EVENTS; done += BATCH) {
    const inputs: PublishInput[] = Array.from({ length: Math.min(BATCH, EVENTS - done) }, () => {
      n += 1;
      return {
        tenantId: tenant,
        id: `evt_${n}`,
        type: 'invoice.paid',
        payloadJson: PAYLOAD,
        channels: [],
        orderingKey: null,
        idempotencyKey: null,
        requestHash: `h${n}`,
        source: 'api',
        createdAt: now,
      };
    });
    const { deliveries } = await publishEvents(db, inputs);
    if (deliveries !== inputs.length * ENDPOINTS)
      throw new Error(`expected every endpoint, got ${deliveries}`);
  }
  return Number(process.hrtime.bigint() - started) / 1e6 / EVENTS;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { db, drop } = await openScratchStore(values.engine, 'filter_bench', 2);
try {
  await migrate(db, listMigrations());
  await upsertEventType(db, { name: 'invoice.paid', default_enabled: true }, now);
  await setUp(db, 'plain', false);
  await setUp(db, 'filtered', true);
  // Warm-up: plans, caches, the first pages of every table.
  await publish(db, 'plain');
  await publish(db, 'filtered');
  const plain: number[] = [];
  const filtered: number[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    if (r % 2 === 0) {
      plain.push(await publish(db, 'plain'));
      filtered.push(await publish(db, 'filtered'));
    } else {
      filtered.push(await publish(db, 'filtered'));
      plain.push(await publish(db, 'plain'));
    }
  }
  const a = median(plain);
  const b = median(filtered);
  console.log(
    JSON.stringify({
      engine: values.engine,
      endpoints: ENDPOINTS,
      events: EVENTS,
      batch: BATCH,
      rounds: ROUNDS,
      ms_per_event_no_filters: Number(a.toFixed(3)),
      ms_per_event_filters: Number(b.toFixed(3)),
      overhead_pct: Number((((b - a) / a) * 100).toFixed(1)),
      // The fastest round of each: the least disturbed by other work on the machine.
      min_no_filters: Number(Math.min(...plain).toFixed(3)),
      min_filters: Number(Math.min(...filtered).toFixed(3)),
      min_overhead_pct: Number(((Math.min(...filtered) / Math.min(...plain) - 1) * 100).toFixed(1)),
      plain_rounds: plain.map((x) => Number(x.toFixed(3))),
      filtered_rounds: filtered.map((x) => Number(x.toFixed(3))),
    }),
  );
} finally {
  await drop();
}
