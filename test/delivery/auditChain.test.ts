// The attempt chain: `audit verify` passes on an untouched store, fails naming the record
// after one attempt row is edited, deleted or inserted with plain SQL (or a checkpoint is
// forged), passes across retention (pruned records leave their hashes) and after an erase.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { auditVerify } from '../../src/commands/audit.js';
import { loadConfig } from '../../src/config.js';
import { sealAttempts, type VerifyReport, verifyChains } from '../../src/delivery/auditChain.js';
import { runRetention } from '../../src/delivery/retention.js';
import { createLogger } from '../../src/log.js';
import { auditPublicKey, checkpointSignatureValid } from '../../src/security/auditKey.js';
import type { Queryable } from '../../src/store/db.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { settled } from '../providers/support.js';

const DAY = 86_400_000;

/** Rolls a transaction back after `fn` looked at what it did. */
class Rollback extends Error {}

describe.each(engines())('attempt chain and audit verify (%s)', (engine) => {
  let app: TestApp;
  let receiver: Receiver;
  const events: { tenant: string; id: string }[] = [];

  const db = () => app.testDb.db;

  /** Seals everything recorded (waits out a sealer the worker is running at the same time). */
  async function sealAll(): Promise<void> {
    for (;;) {
      const n = await sealAttempts({ db: db(), clock: app.tidings.ctx.clock, settleMs: 0 });
      if (n === 0) return;
      if (n < 0) await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** What verify says while `tamper` is applied (in a transaction that is rolled back). */
  async function verifyWhile(
    tamper: (q: Queryable) => Promise<unknown>,
    tenant?: string,
  ): Promise<VerifyReport> {
    let report: VerifyReport | undefined;
    await db()
      .tx(async (q) => {
        await tamper(q);
        report = await verifyChains(q, tenant ? { tenant } : {});
        throw new Rollback();
      })
      .catch((err) => {
        if (!(err instanceof Rollback)) throw err;
      });
    return report!;
  }

  const attemptsOf = (tenant: string) =>
    db().query<{ id: number; delivery_id: number }>(
      `SELECT a.id::float8 AS id, a.delivery_id::float8 AS delivery_id FROM attempts a
       JOIN deliveries d ON d.id = a.delivery_id WHERE d.tenant_id = $1 ORDER BY a.id`,
      [tenant],
    );

  beforeAll(async () => {
    // Odd-numbered events fail their first attempt, so some deliveries have two attempts.
    const seen = new Set<string>();
    receiver = await startReceiver((req) => {
      const key = `${req.path} ${String(req.headers['webhook-id'])}`;
      const first = !seen.has(key);
      seen.add(key);
      const { data } = JSON.parse(req.body) as { data: { i: number } };
      return { status: first && data.i % 2 === 1 ? 500 : 200 };
    });
    app = await startApp(engine);
    expect((await app.api('PUT', '/v1/event-types/loan.updated', {})).status).toBe(201);
    for (const tenant of ['acme', 'globex']) {
      expect((await app.api('POST', '/v1/tenants', { id: tenant, name: tenant })).status).toBe(201);
      for (const path of ['a', 'b']) {
        const r = await app.api('POST', `/v1/tenants/${tenant}/endpoints`, {
          url: `${receiver.url}/${tenant}/${path}`,
        });
        expect(r.status).toBe(201);
      }
      for (let i = 0; i < 6; i++) {
        const pub = await app.api<{ id: string }>('POST', `/v1/tenants/${tenant}/events`, {
          type: 'loan.updated',
          payload: { i, tenant },
        });
        expect(pub.status).toBe(202);
        events.push({ tenant, id: pub.body.id });
      }
    }
    for (const e of events) await settled(app, e.tenant, e.id);
    await sealAll();
  });
  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('passes on an untouched store, chaining every attempt of each tenant in order', async () => {
    const report = await verifyChains(db());
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const attempts = (await attemptsOf('acme')).length + (await attemptsOf('globex')).length;
    expect(attempts).toBeGreaterThan(24); // some retried
    expect(report.records).toBe(attempts);
    expect(report.unsealed).toBe(0);
    const chain = await db().query<{ tenant_id: string; seq: number }>(
      'SELECT tenant_id, seq::float8 AS seq FROM attempt_chain ORDER BY tenant_id, seq',
    );
    for (const t of ['acme', 'globex']) {
      const seqs = chain.filter((c) => c.tenant_id === t).map((c) => c.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });

  it('names the attempt whose row was edited', async () => {
    const victim = (await attemptsOf('acme'))[3]!;
    const report = await verifyWhile((q) =>
      q.query('UPDATE attempts SET status = 299 WHERE id = $1', [victim.id]),
    );
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ tenant_id: 'acme', kind: 'changed', attempt_id: victim.id });
    // The signature headers are covered too.
    const again = await verifyWhile((q) =>
      q.query(
        `UPDATE attempts SET request_headers = json_build_object('webhook-signature', 'v1,forged') WHERE id = $1`,
        [victim.id],
      ),
    );
    expect(again.problems[0]).toMatchObject({ kind: 'changed', attempt_id: victim.id });
    // So is the hash of the body that was sent.
    const body = await verifyWhile((q) =>
      q.query(`UPDATE attempts SET body_sha256 = repeat('0', 64) WHERE id = $1`, [victim.id]),
    );
    expect(body.problems[0]).toMatchObject({ kind: 'changed', attempt_id: victim.id });
  });

  it('names the attempt whose row was deleted', async () => {
    const victim = (await attemptsOf('globex'))[5]!;
    const report = await verifyWhile((q) => q.query('DELETE FROM attempts WHERE id = $1', [victim.id]));
    expect(report.problems).toEqual([
      expect.objectContaining({ tenant_id: 'globex', kind: 'removed', attempt_id: victim.id }),
    ]);
  });

  it('names an attempt row inserted into the record', async () => {
    const [target] = await attemptsOf('acme');
    const insert = (q: Queryable, extra: string, values: string) =>
      q.query(
        `INSERT INTO attempts (${extra}delivery_id, attempt, started_at, duration_ms, url, status, created_at)
         ${values}`,
        [target!.delivery_id],
      );
    // "We sent it on the 3rd": a row written into the past.
    const backdated = await verifyWhile((q) =>
      insert(
        q,
        '',
        `VALUES ($1, 2, now() - interval '3 days', 12, 'https://x.example/', 200, now() - interval '3 days')`,
      ),
    );
    expect(backdated.problems).toHaveLength(1);
    expect(backdated.problems[0]).toMatchObject({ tenant_id: 'acme', kind: 'inserted' });
    const inserted = backdated.problems[0]!.attempt_id!;
    expect((await attemptsOf('acme')).some((a) => a.id === inserted)).toBe(false); // rolled back
    // A row given an id inside the sealed range.
    const inside = await verifyWhile((q) =>
      insert(
        q,
        'id, ',
        `OVERRIDING SYSTEM VALUE VALUES (0, $1, 2, now(), 12, 'https://x.example/', 200, now())`,
      ),
    );
    expect(inside.problems).toEqual([
      expect.objectContaining({ tenant_id: 'acme', kind: 'inserted', attempt_id: 0 }),
    ]);
  });

  it('names a chain record removed, and a forged checkpoint', async () => {
    const removed = await verifyWhile((q) =>
      q.query("DELETE FROM attempt_chain WHERE tenant_id = 'acme' AND seq = 2"),
    );
    expect(removed.problems[0]).toMatchObject({ tenant_id: 'acme', kind: 'removed', seq: 2 });

    // Checkpoints: signed with the deployment key, published to the operator tenant.
    const worker = app.tidings.worker!;
    expect(await worker.checkpointChains()).toBeGreaterThanOrEqual(2);
    const published = await db().query<{ payload: Record<string, unknown> }>(
      "SELECT payload FROM events WHERE tenant_id = 'operator' AND type = 'tidings.audit.checkpoint' ORDER BY seq",
    );
    const acme = published.map((p) => p.payload).find((p) => p.tenant_id === 'acme')!;
    const key = await auditPublicKey(db(), undefined);
    expect(acme.public_key).toBe(key);
    const fields = {
      tenant_id: 'acme',
      seq: acme.seq as number,
      hash: acme.hash as string,
      created_at: new Date(acme.created_at as string),
    };
    expect(checkpointSignatureValid(key!, fields, acme.signature as string)).toBe(true);
    expect(checkpointSignatureValid(key!, { ...fields, seq: fields.seq + 1 }, acme.signature as string)).toBe(
      false,
    );
    const ok = await verifyChains(db(), { trustedKey: key! });
    expect(ok.problems).toEqual([]);
    expect(ok.checkpoints).toBeGreaterThanOrEqual(2);

    const forged = await verifyWhile((q) =>
      q.query(
        "UPDATE attempt_chain_checkpoints SET hash = decode(repeat('ab', 32), 'hex') WHERE tenant_id = 'acme'",
      ),
    );
    expect(forged.problems[0]).toMatchObject({ tenant_id: 'acme', kind: 'checkpoint' });
  });

  it('the command exits 1 naming the record, 0 when the record is untouched', async () => {
    if (engine !== 'pg') return; // the command opens the store itself: a PostgreSQL schema
    const config = loadConfig({ DATABASE_URL: app.testDb.url, TIDINGS_DB_SCHEMA: app.testDb.schema });
    expect(await auditVerify(config, { tenant: 'acme' })).toBe(0);
    const victim = (await attemptsOf('acme'))[1]!;
    await db().query('UPDATE attempts SET duration_ms = duration_ms + 1 WHERE id = $1', [victim.id]);
    const lines: string[] = [];
    const err = console.error;
    console.error = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      expect(await auditVerify(config, { tenant: 'acme' })).toBe(1);
    } finally {
      console.error = err;
      await db().query('UPDATE attempts SET duration_ms = duration_ms - 1 WHERE id = $1', [victim.id]);
    }
    expect(lines.join('\n')).toContain(`attempt ${victim.id}`);
    expect(await auditVerify(config, {})).toBe(0);
  });

  it('passes after an erase and across retention: pruned records leave their hashes', async () => {
    const e = events[0]!;
    const erase = await app.api<{ bodies_removed: number; payload_sha256: string }>(
      'POST',
      `/v1/tenants/${e.tenant}/events/${e.id}/erase`,
    );
    expect(erase.status, JSON.stringify(erase.body)).toBe(200);
    expect(erase.body.bodies_removed).toBeGreaterThanOrEqual(2);
    expect((await verifyChains(db())).problems).toEqual([]);

    // Bodies first (TIDINGS_BODY_RETENTION_DAYS), then the history itself.
    const log = createLogger('silent');
    const later = new ManualClock(new Date(Date.now() + 2 * DAY));
    const bodies = await runRetention({
      db: db(),
      clock: later,
      log,
      retentionDays: 0,
      bodyRetentionDays: 1,
      pauseMs: 0,
    });
    expect(bodies.bodies).toBeGreaterThan(0);
    expect((await db().query<{ n: number }>('SELECT count(*)::int AS n FROM attempt_bodies'))[0]!.n).toBe(0);
    const withHashes = await db().query<{ n: number }>(
      'SELECT count(*)::int AS n FROM attempts WHERE body_sha256 IS NULL',
    );
    expect(withHashes[0]!.n).toBe(0);
    expect((await verifyChains(db())).problems).toEqual([]);

    const muchLater = new ManualClock(new Date(Date.now() + 40 * DAY));
    const gone = await runRetention({ db: db(), clock: muchLater, log, retentionDays: 30, pauseMs: 0 });
    expect(gone.events).toBeGreaterThanOrEqual(events.length);
    const report = await verifyChains(db());
    expect(report.problems).toEqual([]);
    expect(report.pruned).toBeGreaterThan(20);
    expect(report.pruned).toBe(report.records);
    // A record whose attempt went without retention is still caught after it.
    const [rec] = await db().query<{ attempt_id: number }>(
      "SELECT attempt_id::float8 AS attempt_id FROM attempt_chain WHERE tenant_id = 'acme' ORDER BY seq LIMIT 1",
    );
    const unpruned = await verifyWhile((q) =>
      q.query('UPDATE attempt_chain SET pruned_at = NULL WHERE attempt_id = $1', [rec!.attempt_id]),
    );
    expect(unpruned.problems[0]).toMatchObject({ kind: 'removed', attempt_id: rec!.attempt_id });
  });
});
