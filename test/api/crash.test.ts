// A process killed at any point loses no acknowledged event (at-least-once).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { spawnTidings } from '../helpers/processes.js';
import { startReceiver } from '../helpers/receiver.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function call(url: string, method: string, p: string, body?: unknown) {
  const res = await fetch(url + p, {
    method,
    headers: auth,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> };
}

describe.runIf(engines().includes('pg'))('a worker killed mid-delivery (PostgreSQL)', () => {
  it('delivers every acknowledged event after a restart and leaves no lease behind', async () => {
    const rx = await startReceiver(() => ({ status: 200, delayMs: 150 }));
    // The API runs here; the worker is a separate process we kill.
    const app = await startApp('pg', {}, { roles: 'api' });
    const env = {
      DATABASE_URL: app.testDb.url!,
      TIDINGS_DB_SCHEMA: app.testDb.schema!,
      TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_REQUEST_TIMEOUT_MS: '1000',
      TIDINGS_LEASE_MARGIN_MS: '1000',
      TIDINGS_POLL_INTERVAL_MS: '100',
      TIDINGS_RETRY_SCHEDULE: '100ms,100ms,100ms,100ms,100ms',
      TIDINGS_WORKER_CONCURRENCY: '8',
    };
    try {
      await app.api('PUT', '/v1/event-types/payment.booked', {});
      await app.api('POST', '/v1/tenants', { id: 'bank', name: 'Bank' });
      await app.api('POST', '/v1/tenants/bank/endpoints', { url: `${rx.url}/hook`, max_in_flight: 8 });
      const ids: string[] = [];
      for (let i = 0; i < 120; i++) {
        const r = await app.api<{ id: string }>('POST', '/v1/tenants/bank/events', {
          type: 'payment.booked',
          payload: { i },
        });
        expect(r.status).toBe(202);
        ids.push(r.body.id);
      }
      let worker = spawnTidings(['serve', '--roles', 'worker'], env);
      await rx.waitFor(20, 60_000);
      await worker.kill('SIGKILL');
      const leased = await app.testDb.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM delivery_status WHERE state = 'delivering'",
      );
      expect(leased[0]!.n).toBeGreaterThan(0); // killed mid-delivery, with leases held
      worker = spawnTidings(['serve', '--roles', 'worker'], env);
      try {
        for (;;) {
          const left = await app.testDb.db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM deliveries WHERE state <> 'succeeded'",
          );
          if (left[0]!.n === 0) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      } finally {
        await worker.kill('SIGTERM');
      }
      const got = new Set(rx.requests.map((r) => String(r.headers['webhook-id'])));
      for (const id of ids) expect(got.has(id)).toBe(true);
      const duplicates = rx.requests.length - got.size;
      console.log(
        `worker crash: ${ids.length} events, ${rx.requests.length} requests, ${duplicates} duplicates (at-least-once)`,
      );
    } finally {
      await app.stop();
      await rx.close();
    }
  }, 180_000);
});

describe('the embedded store after a killed process', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tidings-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps acknowledged events and delivers them after a restart', async () => {
    const rx = await startReceiver(() => ({ status: 503 }));
    const env = {
      TIDINGS_DATA_DIR: dir,
      TIDINGS_PORT: '0',
      TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms,200ms,200ms',
      TIDINGS_POLL_INTERVAL_MS: '100',
    };
    let t = spawnTidings(['serve'], env);
    try {
      await t.waitForOutput(/"url":"(http:[^"]+)"/);
      let url = /"url":"(http:[^"]+)"/.exec(t.output())![1]!;
      await call(url, 'PUT', '/v1/event-types/invoice_late', {});
      await call(url, 'POST', '/v1/tenants', { id: 'merchant', name: 'M' });
      await call(url, 'POST', '/v1/tenants/merchant/endpoints', { url: `${rx.url}/hook` });
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const r = await call(url, 'POST', '/v1/tenants/merchant/events', {
          type: 'invoice_late',
          payload: { i },
        });
        expect(r.status).toBe(202);
        ids.push(String(r.body.id));
      }
      // The receiver is down; kill the process while deliveries are between retries.
      await rx.waitFor(10);
      await t.kill('SIGKILL');
      rx.setResponder(() => ({ status: 200 }));
      const before = rx.requests.length;
      t = spawnTidings(['serve'], env);
      await t.waitForOutput(/"url":"(http:[^"]+)"/);
      url = /"url":"(http:[^"]+)"/.exec(t.output())![1]!;
      const expectAll = async () => {
        for (;;) {
          const ok = new Set(rx.requests.slice(before).map((r) => String(r.headers['webhook-id'])));
          if (ids.every((id) => ok.has(id))) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await expectAll();
      const listed = await call(url, 'GET', '/v1/tenants/merchant/events?limit=100');
      expect((listed.body.data as unknown[]).length).toBe(25);
    } finally {
      await t.kill('SIGTERM');
      await rx.close();
    }
  }, 180_000);
});
