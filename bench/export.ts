// Export benchmark: GET /v1/tenants/{tid}/events/export of a large window, from PostgreSQL,
// with the RSS of the exporting process sampled all along (issue 14: constant memory).
//
//   npx tsx bench/export.ts [--events 1000000] [--format jsonl|csv] [--database-url postgres://…]
//
// A fresh schema in the database (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test,
// dropped afterwards) is seeded in SQL with `events` events of one tenant (a small JSON
// payload, a channel), each with a succeeded delivery and its attempt, to two endpoints for
// every tenth. Then Tidings (the api role) runs in this process and the export is read over
// HTTP by a client that counts and drops the bytes. RSS (VmRSS) and the V8 heap are sampled
// every 100 ms; the figures are printed as a Markdown table (copy it into bench/README.md).
// Not part of `npm run bench`: seeding a million rows takes minutes.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startTidings } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { migrate } from '../src/store/migrate.js';
import { openPg } from '../src/store/pg.js';

const { values: opt } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    format: { type: 'string', default: 'jsonl' },
    'database-url': { type: 'string' },
  },
});
const EVENTS = Number(opt.events);
const FORMAT = opt.format === 'csv' ? 'csv' : 'jsonl';
const URL_ =
  opt['database-url'] || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = 'bench-export-token-0123456789';
const MB = 1024 * 1024;

function rss(): number {
  return process.memoryUsage.rss();
}

async function seed(url: string, schema: string, n: number): Promise<number> {
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await c.connect();
  const t0 = performance.now();
  const start = new Date('2026-01-01T00:00:00Z');
  await c.query(`INSERT INTO tenants (id, name) VALUES ('acme', 'Acme')`);
  await c.query(
    `INSERT INTO endpoints (id, tenant_id, url, secret) VALUES
       ('ep_bench_a', 'acme', 'https://example.com/a', 'x'), ('ep_bench_b', 'acme', 'https://example.com/b', 'x')`,
  );
  // In slices of 100,000 rows: one huge statement would hold a million rows of WAL at once.
  const slice = 100_000;
  for (let from = 1; from <= n; from += slice) {
    const to = Math.min(n, from + slice - 1);
    await c.query(
      `INSERT INTO events (tenant_id, id, type, payload, channels, request_hash, created_at)
       SELECT 'acme', 'msg_' || lpad(g::text, 10, '0'), 'invoice.paid',
              json_build_object('invoice_id', 'inv_' || g, 'amount_cents', g * 7, 'currency', 'EUR',
                                'memo', 'Invoice ' || g || ' paid in full'),
              ARRAY['bank_account:BA-' || (g % 10)], 'h', $3::timestamptz + g * interval '1 millisecond'
       FROM generate_series($1::int, $2::int) g`,
      [from, to, start],
    );
    await c.query(
      `INSERT INTO deliveries (tenant_id, event_seq, endpoint_id, state, attempts, created_at, updated_at, completed_at)
       SELECT 'acme', e.seq, ep.id, 'succeeded', 1, e.created_at, e.created_at, e.created_at
       FROM events e CROSS JOIN (VALUES ('ep_bench_a'), ('ep_bench_b')) ep(id)
       -- A fresh table: its identity numbers the rows 1, 2, … in insert order.
       WHERE e.seq BETWEEN $1 AND $2 AND (ep.id = 'ep_bench_a' OR e.seq % 10 = 0)`,
      [from, to],
    );
    process.stdout.write(`\rseeded ${to.toLocaleString('en')} events`);
  }
  await c.query(
    `INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, url, status, created_at, endpoint_sequence)
     SELECT id, 1, created_at, 5, 'https://example.com/', 200, created_at, id FROM deliveries`,
  );
  await c.query('ANALYZE events; ANALYZE deliveries; ANALYZE attempts');
  await c.end();
  process.stdout.write('\n');
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const schema = `export_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = await openPg(URL_, { schema, max: 4 });
  try {
    await migrate(db);
    const seedS = await seed(URL_, schema, EVENTS);
    const config = loadConfig(
      {
        DATABASE_URL: URL_,
        TIDINGS_DB_SCHEMA: schema,
        TIDINGS_PORT: '0',
        TIDINGS_ADMIN_TOKEN: TOKEN,
        TIDINGS_LOG_LEVEL: 'warn',
        TIDINGS_METRICS: 'false',
        TIDINGS_RATE_LIMIT_PER_S: '0',
      },
      { roles: 'api' },
    );
    const t = await startTidings(config, { db, log: createLogger('warn') });
    global.gc?.();
    const before = rss();
    const samples: { at: number; rss: number; heap: number; lines: number }[] = [];
    let lines = 0;
    let bytes = 0;
    const timer = setInterval(
      () => samples.push({ at: performance.now(), rss: rss(), heap: process.memoryUsage().heapUsed, lines }),
      100,
    );
    const t0 = performance.now();
    const res = await fetch(
      `${t.url}/v1/tenants/acme/events/export?since=2025-12-31T00:00:00Z&until=2026-12-31T00:00:00Z&format=${FORMAT}`,
      { headers: { authorization: `Bearer ${TOKEN}` } },
    );
    if (res.status !== 200 || !res.body)
      throw new Error(`export answered ${res.status}: ${await res.text()}`);
    const nl = 0x0a;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === nl) lines += 1;
    }
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    const after = rss();
    await t.stop();
    const rows = FORMAT === 'csv' ? lines - 1 : lines;
    if (rows !== EVENTS) throw new Error(`exported ${rows} rows, expected ${EVENTS}`);
    const peak = Math.max(...samples.map((s) => s.rss));
    const peakHeap = Math.max(...samples.map((s) => s.heap));
    const at = (share: number) => {
      const s = samples.find((x) => x.lines >= share * EVENTS) ?? samples[samples.length - 1];
      return s ? `${(s.rss / MB).toFixed(0)} MB` : '—';
    };
    const fmt = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 0 });
    console.log(`
| figure | value |
| --- | --- |
| events exported (${FORMAT}) | ${fmt(EVENTS)} |
| bytes | ${(bytes / MB).toFixed(0)} MiB |
| seeding (SQL) | ${seedS.toFixed(0)} s |
| export time | ${seconds.toFixed(1)} s (${fmt(EVENTS / seconds)} events/s) |
| RSS before the export | ${(before / MB).toFixed(0)} MB |
| RSS at 10 % / 50 % / 90 % of the rows | ${at(0.1)} / ${at(0.5)} / ${at(0.9)} |
| RSS peak during the export | ${(peak / MB).toFixed(0)} MB |
| V8 heap peak | ${(peakHeap / MB).toFixed(0)} MB |
| RSS after | ${(after / MB).toFixed(0)} MB |
`);
  } finally {
    await db.close().catch(() => {});
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

await main();
