// Chaos on the embedded store: one `tidings serve` process on PGlite (api and worker), killed
// with SIGKILL again and again while a producer publishes through its API and deliveries are
// in flight. Every event the API acknowledged (202, or 200 for a repeat) must arrive.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Child, spawnTidings } from '../helpers/processes.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';

const EVENTS = 400;
const KILLS = 4;
const TOKEN = 'chaos-admin-token-0123456789';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('chaos: the embedded store under SIGKILL', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tidings-chaos-'));
  let child: Child | undefined;
  let rx: Receiver | undefined;
  afterAll(async () => {
    await child?.kill('SIGKILL');
    await rx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every acknowledged event across repeated kills', async () => {
    rx = await startReceiver(async () => ({ status: 200, delayMs: Math.floor(Math.random() * 20) }));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      TIDINGS_DATA_DIR: dir,
      TIDINGS_PORT: String(port),
      TIDINGS_ADMIN_TOKEN: TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_REQUEST_TIMEOUT_MS: '2000',
      TIDINGS_LEASE_MARGIN_MS: '1000',
      TIDINGS_POLL_INTERVAL_MS: '100',
      TIDINGS_RETRY_SCHEDULE: '200ms,500ms,1s,2s,3s,5s,5s,5s',
    };
    const phases: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => phases.push(`${what} +${((Date.now() - t0) / 1000).toFixed(1)}s`);
    const start = async () => {
      child = spawnTidings(['serve', '--roles', 'api,worker'], env);
      await child.waitForOutput(/tidings started/, 90_000);
      mark('up');
    };
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(url + p, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      return {
        status: res.status,
        body: (await res.json().catch(() => null)) as Record<string, unknown> | null,
      };
    };

    await start();
    expect((await call('PUT', '/v1/event-types/loan.restructured', {})).status).toBeLessThan(300);
    expect((await call('POST', '/v1/tenants', { id: 'servicer', name: 'Servicer' })).status).toBe(201);
    expect((await call('POST', '/v1/tenants/servicer/endpoints', { url: `${rx.url}/hook` })).status).toBe(
      201,
    );

    // The producer: publishes event i with its own id until the API acknowledges it, across
    // the kills (a repeat of an acknowledged id answers 200 and creates nothing).
    const acknowledged = new Set<string>();
    let next = 0;
    const producer = (async () => {
      while (next < EVENTS) {
        const id = `emb-${next}`;
        try {
          const r = await call('POST', '/v1/tenants/servicer/events', {
            id,
            type: 'loan.restructured',
            payload: { n: next },
          });
          if (r.status === 202 || r.status === 200) {
            acknowledged.add(id);
            next += 1;
            continue;
          }
        } catch {
          // The process is down: try again shortly.
        }
        await sleep(100);
      }
    })();

    let kills = 0;
    while (kills < KILLS) {
      await sleep(800 + Math.floor(Math.random() * 1500));
      await child!.kill('SIGKILL');
      kills += 1;
      await start();
    }
    await producer;
    mark('all acknowledged');

    const deadline = Date.now() + 120_000;
    for (;;) {
      const got = new Set(rx.requests.map((r) => String(r.headers['webhook-id'])));
      const missing = [...acknowledged].filter((id) => !got.has(id));
      if (missing.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(`never delivered: ${missing.slice(0, 10).join(', ')} (${missing.length})`);
      await sleep(200);
    }
    mark('all delivered');
    const distinct = new Set(rx.requests.map((r) => String(r.headers['webhook-id'])));
    expect(acknowledged.size).toBe(EVENTS);
    expect(distinct.size).toBe(EVENTS);
    const listed = await call('GET', '/v1/tenants/servicer/events?limit=1');
    expect(listed.status).toBe(200);
    console.log(
      `[chaos embedded] ${EVENTS} events acknowledged, ${kills} SIGKILLs of the whole process, ` +
        `${rx.requests.length} requests, ${rx.requests.length - distinct.size} duplicates; ${phases.join(', ')}`,
    );
  });
});
