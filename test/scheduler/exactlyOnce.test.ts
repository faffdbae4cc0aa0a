// Each reminder slot publishes exactly once: with two schedulers on one PostgreSQL, and with
// a scheduler process killed (SIGKILL) in the middle of firing and started again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { insertAndPlanAnchors } from '../../src/scheduler/planner.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { Db } from '../../src/store/db.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import { openPg } from '../../src/store/pg.js';
import { putRule } from '../../src/store/reminders/rules.js';
import type { AnchorInput } from '../../src/store/reminders/types.js';
import { createTenant } from '../../src/store/tenants.js';
import { ADMIN_TOKEN, startApp } from '../helpers/app.js';
import { engines, freshDb } from '../helpers/engines.js';
import { spawnTidings } from '../helpers/processes.js';

const TYPE = 'loan.payment_due';
const REMINDER = { anchor: 'the due date', negative_offsets: true, periodic: true };

function anchors(n: number, at: Date): AnchorInput[] {
  return Array.from({ length: n }, (_, i) => ({
    tenant_id: 'lender',
    anchor_id: `loan-${i}`,
    event_type: TYPE,
    subject: `acct-${i}`,
    at,
    time_zone: 'UTC',
    window_start: null,
    window_end: null,
    payload: JSON.stringify({ loan: i }),
    channels: [],
  }));
}

async function count(db: Db, sql: string): Promise<number> {
  return (await db.query<{ n: number }>(sql))[0]!.n;
}

/** Every fired slot has its event and every reminder event belongs to a fired slot. */
async function consistent(db: Db): Promise<{ fired: number; events: number }> {
  const fired = await count(db, "SELECT count(*)::int AS n FROM reminder_slots WHERE state = 'fired'");
  const events = await count(db, "SELECT count(*)::int AS n FROM events WHERE source = 'reminder'");
  const orphans = await count(
    db,
    `SELECT count(*)::int AS n FROM events e WHERE e.source = 'reminder' AND NOT EXISTS
       (SELECT 1 FROM reminder_slots s WHERE s.tenant_id = e.tenant_id AND s.event_id = e.id AND s.state = 'fired')`,
  );
  const unpublished = await count(
    db,
    `SELECT count(*)::int AS n FROM reminder_slots s WHERE s.state = 'fired' AND NOT EXISTS
       (SELECT 1 FROM events e WHERE e.tenant_id = s.tenant_id AND e.id = s.event_id)`,
  );
  expect({ orphans, unpublished, fired }).toEqual({ orphans: 0, unpublished: 0, fired: events });
  return { fired, events };
}

describe.runIf(engines().includes('pg'))('reminders fire exactly once (PostgreSQL)', () => {
  it('two schedulers on one database fire each slot once and share the work', async () => {
    const t = await freshDb('pg');
    const clock = new ManualClock(new Date('2024-05-01T00:00:00Z'));
    const due = new Date('2024-05-02T00:00:00Z');
    const now = clock.now();
    await createTenant(t.db, { id: 'lender', name: 'Lender' }, now);
    await upsertEventType(t.db, { name: TYPE, reminder: REMINDER }, now);
    await putRule(
      t.db,
      {
        tenant_id: 'lender',
        event_type: TYPE,
        subject: '',
        offsets: ['0 days', '1 minute', '-1 hour'],
        periodic_interval: null,
        business_days: null,
        refresh_url: null,
      },
      now,
    );
    await t.db.tx((q) => insertAndPlanAnchors(q, anchors(600, due), now));
    const config = loadConfig({ TIDINGS_LOG_LEVEL: 'silent' });
    const log = createLogger('silent');
    const dbs = [
      await openPg(t.url!, { schema: t.schema!, max: 2 }),
      await openPg(t.url!, { schema: t.schema!, max: 2 }),
    ];
    const schedulers = dbs.map(
      (db, i) => new Scheduler({ db, clock, log, config, batchSize: 40, schedulerId: `s${i}` }),
    );
    try {
      clock.set(new Date('2024-05-02T00:01:00Z'));
      const fired = await Promise.all(schedulers.map((s) => s.drain()));
      expect(fired[0]! + fired[1]!).toBe(1800);
      expect(Math.min(...fired)).toBeGreaterThan(0);
      expect(await consistent(t.db)).toEqual({ fired: 1800, events: 1800 });
      expect(await count(t.db, "SELECT count(*)::int AS n FROM reminder_slots WHERE state <> 'fired'")).toBe(
        0,
      );
      // Nothing is left to fire: a third pass finds nothing.
      expect(await schedulers[0]!.drain()).toBe(0);
    } finally {
      for (const db of dbs) await db.close();
      await t.drop();
    }
  });

  it('a scheduler killed mid-fire and restarted fires nothing twice and misses nothing', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tidings-sched-'));
    const app = await startApp('pg', { TIDINGS_DATA_DIR: dataDir }, { roles: 'api' });
    const env = {
      DATABASE_URL: app.testDb.url!,
      TIDINGS_DB_SCHEMA: app.testDb.schema!,
      TIDINGS_DATA_DIR: dataDir,
      TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
      TIDINGS_POLL_INTERVAL_MS: '100',
      TIDINGS_LOG_LEVEL: 'warn',
    };
    const db = app.testDb.db;
    const N = 4000;
    try {
      await app.api('PUT', `/v1/event-types/${TYPE}`, { reminder: REMINDER });
      await app.api('POST', '/v1/tenants', { id: 'lender', name: 'Lender' });
      // An endpoint, so each fire also fans out a delivery in the same transaction.
      await app.api('POST', '/v1/tenants/lender/endpoints', {
        url: 'https://example.com/hook',
        event_types: [TYPE],
      });
      expect((await app.api('PUT', '/v1/tenants/lender/reminder-rules', { event_type: TYPE })).status).toBe(
        201,
      );
      const at = new Date(Date.now() - 1000);
      await db.tx((q) => insertAndPlanAnchors(q, anchors(N, at), new Date()));

      let scheduler = spawnTidings(['serve', '--roles', 'scheduler'], env);
      const fired = () => count(db, "SELECT count(*)::int AS n FROM reminder_slots WHERE state = 'fired'");
      // Another connection inside a transaction on the reminder tables: the child, mid-batch.
      const firing = () =>
        count(
          db,
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL AND query ILIKE '%reminder%'`,
        );
      const deadline = Date.now() + 60_000;
      while ((await fired()) === 0 || (await firing()) === 0) {
        if (Date.now() > deadline) throw new Error(`never caught firing:\n${scheduler.output()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      await scheduler.kill('SIGKILL');
      const atKill = await consistent(db);
      expect(atKill.fired).toBeLessThan(N); // killed with work left, inside a batch

      scheduler = spawnTidings(['serve', '--roles', 'scheduler'], env);
      try {
        const until = Date.now() + 90_000;
        while ((await fired()) < N) {
          if (Date.now() > until) throw new Error(`not all fired:\n${scheduler.output()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        await scheduler.kill('SIGTERM');
      }
      expect(await consistent(db)).toEqual({ fired: N, events: N });
      expect(await count(db, "SELECT count(*)::int AS n FROM reminder_slots WHERE state <> 'fired'")).toBe(0);
      expect(await count(db, 'SELECT count(*)::int AS n FROM deliveries')).toBe(N);
      expect(await count(db, 'SELECT count(DISTINCT event_id)::int AS n FROM reminder_slots')).toBe(N);
    } finally {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
