// Request ids and log output: x-request-id accepted when well formed, made up otherwise,
// echoed on every response and stamped on the request's log lines and its audit entry;
// pretty, coloured lines on a terminal (a real pseudo-terminal through `script`), JSON lines
// on a pipe or with TIDINGS_LOG_FORMAT=json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapturedLog, captureLog } from '../delivery/appLog.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const BIN = fileURLToPath(new URL('../../bin/tidings.js', import.meta.url));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('x-request-id (pglite)', () => {
  let app: TestApp;
  let captured: CapturedLog;

  beforeAll(async () => {
    captured = captureLog('debug');
    app = await startApp('pglite', { TIDINGS_LOG_LEVEL: 'debug' }, { log: captured.log });
  });
  afterAll(async () => {
    await app?.stop();
  });

  const linesOf = (id: string) => captured.lines.filter((l) => l.request_id === id);

  it('keeps a well-formed id from the caller, echoes it and logs it on the request line', async () => {
    const id = 'lb-7f3a.2024:01_x';
    const res = await app.api(
      'POST',
      '/v1/tenants',
      { id: 'rq', name: 'Rq' },
      { headers: { 'x-request-id': id } },
    );
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe(id);
    const lines = linesOf(id);
    expect(lines.map((l) => l.msg)).toContain('request');
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({
      method: 'POST',
      route: '/v1/tenants',
      status: 201,
    });
    // The audit entry of that request carries the same id.
    const audit = await app.api<{ data: { action: string; request_id: string }[] }>('GET', '/v1/audit-log');
    expect(audit.body.data.find((e) => e.request_id === id)).toBeDefined();
  });

  it('replaces a malformed or missing id with a fresh UUID, on errors too', async () => {
    for (const bad of ['has spaces', 'x'.repeat(200), '../etc', '']) {
      const res = await app.api('GET', '/v1/tenants', undefined, { headers: { 'x-request-id': bad } });
      const echoed = res.headers.get('x-request-id')!;
      expect(echoed).toMatch(UUID);
      expect(linesOf(echoed).length).toBeGreaterThan(0);
    }
    const unauthorized = await app.api('GET', '/v1/tenants', undefined, { token: 'not-the-token-at-all' });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('x-request-id')).toMatch(UUID);
    const missing = await app.api('GET', '/v1/nothing-here', undefined, {
      headers: { 'x-request-id': 'abc' },
    });
    expect([missing.status, missing.headers.get('x-request-id')]).toEqual([404, 'abc']);
  });
});

/**
 * Starts `tidings serve --roles api` and resolves with what it printed up to "tidings started".
 * On PostgreSQL when there is one (an embedded store's first start takes longer).
 */
function firstLines(
  env: Record<string, string>,
  tty: boolean,
  store: Record<string, string>,
): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tidings-log-'));
  const args = [BIN, 'serve', '--roles', 'api', '--port', '0', '--data-dir', dir];
  const command = tty ? 'script' : process.execPath;
  // script(1) runs the command on a new pseudo-terminal and copies what it prints.
  const argv = tty
    ? ['-qfec', [process.execPath, ...args].map((a) => `'${a}'`).join(' '), '/dev/null']
    : args;
  const proc = spawn(command, argv, {
    env: { ...process.env, TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN, TIDINGS_LOG_LEVEL: 'info', ...store, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no start line:\n${out}`));
    }, 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/tidings started/.test(out)) {
        clearTimeout(timer);
        proc.kill('SIGTERM');
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', () => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      if (/tidings started/.test(out)) resolve(out);
      else reject(new Error(`exited before starting:\n${out}`));
    });
  });
}

describe('log format', () => {
  let db: TestDb | undefined;
  let store: Record<string, string> = {};
  beforeAll(async () => {
    if (!engines().includes('pg')) return;
    db = await freshDb('pg');
    // One key for the three processes: the first one seals with it, the others must open.
    store = {
      DATABASE_URL: db.url!,
      TIDINGS_DB_SCHEMA: db.schema!,
      TIDINGS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    };
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is pretty and coloured on a terminal', async () => {
    const out = await firstLines({}, true, store);
    const line = out.split('\n').find((l) => l.includes('tidings started'))!;
    // ANSI colour codes, a level word and no JSON object.
    expect(line).toContain(`${String.fromCharCode(27)}[`);
    expect(line).toMatch(/INFO/);
    expect(line.trim().startsWith('{')).toBe(false);
  });

  it('is JSON on a pipe', async () => {
    const out = await firstLines({}, false, store);
    const line = out.split('\n').find((l) => l.includes('tidings started'))!;
    expect(JSON.parse(line)).toMatchObject({ msg: 'tidings started', level: 30, service: 'tidings' });
  });

  it('is JSON on a terminal with TIDINGS_LOG_FORMAT=json', async () => {
    const out = await firstLines({ TIDINGS_LOG_FORMAT: 'json' }, true, store);
    const line = out.split(/\r?\n/).find((l) => l.includes('tidings started'))!;
    expect(JSON.parse(line.trim())).toMatchObject({ msg: 'tidings started' });
  });
});
