// What events_tenant_type_seq (migration 015) costs the publish statement: the store's publish
// of batches of 100 events, each fanned out to two endpoints, on PostgreSQL, with the index and
// without it, alternating rounds so that the machine's other load falls on both alike.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/publishIndexCost.ts
import { randomUUID } from 'node:crypto';
import { migrate } from '../src/store/migrate.js';
import { publishEvents } from '../src/store/publish.js';
import { openScratchStore } from './scratchStore.js';

const ROUNDS = Number(process.env.ROUNDS ?? 6);
const BATCHES = Number(process.env.BATCHES ?? 40);
const { db, drop } = await openScratchStore('pg', 'pubidx', 2);
try {
  await migrate(db);
  await db.exec(`
    INSERT INTO tenants (id, name) VALUES ('t', 'T');
    INSERT INTO event_types (name, description, default_enabled, created_at, updated_at)
      VALUES ('loans.paid', '', true, now(), now()), ('bill_payments.paid', '', true, now(), now());
    INSERT INTO endpoints (id, tenant_id, url, secret) VALUES ('e1', 't', 'https://a', 'x'), ('e2', 't', 'https://b', 'x');
    INSERT INTO endpoint_state (endpoint_id) VALUES ('e1'), ('e2');`);
  const round = async () => {
    const start = process.hrtime.bigint();
    for (let b = 0; b < BATCHES; b++) {
      await publishEvents(
        db,
        Array.from({ length: 100 }, (_, i) => ({
          tenantId: 't',
          id: randomUUID(),
          type: i % 2 ? 'loans.paid' : 'bill_payments.paid',
          payloadJson: '{"amount_cents": 1200}',
          channels: [],
          orderingKey: null,
          idempotencyKey: null,
          requestHash: 'h',
          source: 'api',
          createdAt: new Date(),
        })),
      );
    }
    return Number(process.hrtime.bigint() - start) / 1e6 / (BATCHES * 100);
  };
  await round(); // warm-up
  const withIdx: number[] = [];
  const without: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    withIdx.push(await round());
    await db.exec('DROP INDEX events_tenant_type_seq');
    without.push(await round());
    await db.exec('CREATE INDEX events_tenant_type_seq ON events (tenant_id, type, seq DESC)');
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `ms per published event (2 deliveries each), median of ${ROUNDS} rounds of ${BATCHES * 100}: ` +
      `with the index ${median(withIdx).toFixed(4)}, without ${median(without).toFixed(4)}`,
  );
  console.log({ withIdx, without });
} finally {
  await drop();
}
