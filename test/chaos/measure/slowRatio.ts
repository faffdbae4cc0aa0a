// Throughput of healthy endpoints with and without hanging endpoints beside them, as a ratio
// from one run of each (docs/scaling.md). Run by hand against a PostgreSQL of your own:
//   URL=postgres://postgres@127.0.0.1:5432/test SLOW=1 EVENTS=4000 npx tsx test/chaos/measure/slowRatio.ts
import http from 'node:http';
import pg from 'pg';
import { startTidings } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { openPg } from '../../../src/store/pg.js';

const url = process.env.URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = 'ratio-admin-token-0123456789';

function settings(schema: string): Record<string, string> {
  return {
    DATABASE_URL: url,
    TIDINGS_DB_SCHEMA: schema,
    TIDINGS_PORT: '0',
    TIDINGS_ADMIN_TOKEN: TOKEN,
    TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
    TIDINGS_REQUEST_TIMEOUT_MS: '30000',
    TIDINGS_LOG_LEVEL: 'warn',
    TIDINGS_ENCRYPTION_KEY: `${'A'.repeat(43)}=`,
  };
}
const EVENTS = Number(process.env.EVENTS ?? 4000);

async function receiver(hang: boolean) {
  let n = 0;
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      if (hang) return;
      res.writeHead(200).end('ok');
    });
  });
  srv.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as { port: number }).port}`,
    count: () => n,
    close: () => {
      srv.closeAllConnections();
      srv.close();
    },
  };
}

async function run(withSlow: boolean): Promise<number> {
  const schema = `slow_ratio_${withSlow ? 'with' : 'without'}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = await openPg(url, { schema, max: 10 });
  // First only the API: everything is queued before any delivery starts.
  const t = await startTidings(loadConfig(settings(schema), { roles: 'api' }), {
    db,
    log: createLogger('warn'),
  });
  const api = async (m: string, p: string, b?: unknown) => {
    const r = await fetch(t.url + p, {
      method: m,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    return r.json();
  };
  const fast = await receiver(false);
  const slow = await receiver(true);
  await api('PUT', '/v1/event-types/x.y', {});
  for (let i = 0; i < 4; i++) {
    await api('POST', '/v1/tenants', { id: `h${i}`, name: 'h' });
    await api('POST', `/v1/tenants/h${i}/endpoints`, { url: fast.url, max_in_flight: 16 });
  }
  const SLOW = Number(process.env.SLOW ?? 1);
  await api('POST', '/v1/tenants', { id: 'slow', name: 's' });
  for (let i = 0; i < SLOW; i++) await api('POST', '/v1/tenants/slow/endpoints', { url: slow.url });
  const pubs: Promise<unknown>[] = [];
  for (let i = 0; i < EVENTS; i++) {
    pubs.push(api('POST', `/v1/tenants/h${i % 4}/events`, { type: 'x.y', payload: { i } }));
    if (withSlow) pubs.push(api('POST', '/v1/tenants/slow/events', { type: 'x.y', payload: { i } }));
    if (pubs.length >= 64) await Promise.all(pubs.splice(0));
  }
  await Promise.all(pubs);
  // Everything is queued; now a worker (in this process, like the default deployment) delivers.
  const w = await startTidings(loadConfig(settings(schema), { roles: 'worker' }), {
    db,
    log: createLogger('warn'),
  });
  const started = performance.now();
  while (fast.count() < EVENTS) await new Promise((r) => setTimeout(r, 20));
  const secs = (performance.now() - started) / 1000;
  const rate = EVENTS / secs;
  console.log(
    withSlow ? 'with a hanging endpoint' : 'alone',
    `${EVENTS} healthy deliveries in ${secs.toFixed(2)} s = ${rate.toFixed(0)}/s; slow got ${slow.count()} requests`,
  );
  slow.close();
  await w.stop();
  await t.stop();
  fast.close();
  await db.close();
  return rate;
}

await run(false); // warm-up
const alone = await run(false);
const beside = await run(true);
console.log(`ratio (with / without) = ${(beside / alone).toFixed(2)}`);
process.exit(0);
