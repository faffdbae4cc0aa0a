// Secrets at rest: signing secrets, Ed25519 keys, static auth headers and tenant tokens never
// sit in the database in clear; the key comes from TIDINGS_ENCRYPTION_KEY or a generated key
// file; a process with the wrong key stops at boot; rotating the key re-seals everything.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTidings, type Tidings } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import {
  createSecretBox,
  generateKey,
  keyFingerprint,
  parseKeyMaterial,
} from '../../src/security/secretBox.js';
import { newKeyPair } from '../../src/signing/ed25519.js';
import type { Queryable } from '../../src/store/db.js';
import { KeyMismatchError, resealAll } from '../../src/store/sealed.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { engines, freshDb } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/tidings.js', import.meta.url));

/** Every row of every table of the current schema, as text: what a dump would show. */
async function dumpAsText(q: Queryable): Promise<string> {
  const tables = await q.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await q.query<{ row: string }>(`SELECT x::text AS row FROM "${table_name}" x`);
    parts.push(`-- ${table_name}`, ...rows.map((r) => r.row));
  }
  return parts.join('\n');
}

function b64Part(secret: string): string {
  return secret.slice(secret.indexOf('_') + 1);
}

describe.each(engines())('a database dump holds no secret in clear (%s)', (engine) => {
  let app: TestApp;
  let rx: Receiver;
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    app = await startApp(engine, { TIDINGS_ENCRYPTION_KEY: generateKey() });
    rx = await startReceiver();
    await app.api('PUT', '/v1/event-types/invoice.paid', { description: 'paid' });
    await app.api('POST', '/v1/tenants', { id: 'bank', name: 'Bank' });
    secrets.token = (await app.api<{ token: string }>('POST', '/v1/tenants/bank/tokens', {})).body.token;
    secrets.first = `whsec_${Buffer.from('first-secret-first-secret-12345').toString('base64')}`;
    secrets.authorization = 'Basic YWxhZGRpbjpvcGVuc2VzYW1l';
    secrets.apiKey = 'xk_live_9f8e7d6c5b4a39281706';
    const hmac = await app.api<{ id: string }>('POST', '/v1/tenants/bank/endpoints', {
      url: `${rx.url}/hmac`,
      secret: secrets.first,
      headers: { Authorization: secrets.authorization, 'X-Api-Key': secrets.apiKey },
    });
    expect(hmac.status).toBe(201);
    // Rotated: the first secret now waits in previous_secrets, the second is current.
    const rotated = await app.api<{ secret: string }>(
      'POST',
      `/v1/tenants/bank/endpoints/${hmac.body.id}/secret/rotate`,
      {},
    );
    secrets.second = rotated.body.secret;
    const pair = newKeyPair();
    secrets.ed25519 = pair.secretKey;
    const ed = await app.api('POST', '/v1/tenants/bank/endpoints', {
      url: `${rx.url}/ed`,
      signing: 'ed25519',
      secret: pair.secretKey,
      profile: 'billie',
      headers: { 'X-Partner-Secret': 'partner-shared-secret-0042' },
    });
    expect(ed.status).toBe(201);
    secrets.partner = 'partner-shared-secret-0042';
    const pub = await app.api('POST', '/v1/tenants/bank/events', {
      type: 'invoice.paid',
      payload: { amount: '10.00' },
    });
    expect(pub.status).toBe(202);
    await rx.waitFor(2);
    await until(async () => {
      const rows = await app.testDb.db.query('SELECT 1 FROM attempts');
      return rows.length >= 2;
    }, 'attempts to be recorded');
  });
  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  it('the receiver got the real values (so the check below looks for values that exist)', () => {
    const hmac = rx.requests.find((r) => r.path === '/hmac')!;
    expect(hmac.headers.authorization).toBe(secrets.authorization);
    expect(hmac.headers['x-api-key']).toBe(secrets.apiKey);
    expect(rx.requests.find((r) => r.path === '/ed')!.headers['x-partner-secret']).toBe(secrets.partner);
  });

  it('no secret, key, header value or token appears in any column of any table', async () => {
    const dump = await dumpAsText(app.testDb.db);
    expect(dump).toContain('enc:v1:');
    for (const [name, value] of Object.entries(secrets)) {
      expect(dump, name).not.toContain(value);
      if (/^(whsec|whsk|tid_tenant)_/.test(value))
        expect(dump, `${name} (base64 part)`).not.toContain(b64Part(value));
    }
  });

  it.runIf(engine === 'pg')('nor in a pg_dump of the schema', async () => {
    const { stdout } = await run(
      'pg_dump',
      ['--no-owner', `--schema=${app.testDb.schema}`, app.testDb.url!],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    expect(stdout).toContain('enc:v1:');
    expect(stdout).toContain('api_tokens');
    for (const [name, value] of Object.entries(secrets)) expect(stdout, name).not.toContain(value);
  });

  it('API answers show static header values masked', async () => {
    const list = await app.api<{ data: { headers: Record<string, string> }[] }>(
      'GET',
      '/v1/tenants/bank/endpoints',
    );
    const text = JSON.stringify(list.body);
    expect(list.body.data.some((e) => Object.keys(e.headers).length > 0)).toBe(true);
    for (const v of [secrets.authorization, secrets.apiKey, secrets.partner]) expect(text).not.toContain(v!);
    expect(text).toContain('****');
  });
});

describe('the key', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'tidings-key-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('is generated into <data dir>/encryption.key, mode 0600, and reused', async () => {
    const dir = tempDir();
    const app = await startApp('pglite', { TIDINGS_DATA_DIR: dir });
    try {
      const file = path.join(dir, 'encryption.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const key = readFileSync(file, 'utf8').trim();
      expect(Buffer.from(key, 'base64')).toHaveLength(32);
      await app.api('POST', '/v1/tenants', { id: 't', name: 'T' });
      await app.api('POST', '/v1/tenants/t/endpoints', { url: 'https://example.com/h' });
      const [row] = await app.testDb.db.query<{ secret: string }>('SELECT secret FROM endpoints');
      expect(row!.secret.startsWith(`enc:v1:${keyFingerprint(Buffer.from(key, 'base64'))}:`)).toBe(true);
      const again = await startApp('pglite', { TIDINGS_DATA_DIR: dir });
      await again.stop();
      expect(readFileSync(file, 'utf8').trim()).toBe(key);
    } finally {
      await app.stop();
    }
  });

  it('on PostgreSQL without TIDINGS_ENCRYPTION_KEY, the boot warns that every process must share one', async () => {
    let out = '';
    const log = createLogger(
      'warn',
      new Writable({
        write(chunk, _enc, cb) {
          out += String(chunk);
          cb();
        },
      }),
    );
    const app = await startApp(
      'pglite',
      { TIDINGS_DATA_DIR: tempDir(), DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
      { log, roles: 'api' },
    );
    await app.stop();
    expect(out).toContain('TIDINGS_ENCRYPTION_KEY is not set');
    expect(out).toContain('Every process sharing this PostgreSQL must use the same key');
  });

  it('a process with another key stops at boot; old and new keys together open both; re-sealing moves all to the new one', async () => {
    const k1 = `one:${generateKey()}`;
    const k2 = `two:${generateKey()}`;
    const testDb = await freshDb('pglite');
    const start = (key: string) =>
      startTidings(
        loadConfig(
          {
            TIDINGS_PORT: '0',
            TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
            TIDINGS_LOG_LEVEL: 'silent',
            TIDINGS_ENCRYPTION_KEY: key,
          },
          { roles: 'api' },
        ),
        { db: testDb.db },
      );
    const call = async (t: Tidings, method: string, url: string, body?: unknown) => {
      const res = await fetch(t.url + url, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    try {
      let t = await start(k1);
      await call(t, 'POST', '/v1/tenants', { id: 'k', name: 'K' });
      const ep = await call(t, 'POST', '/v1/tenants/k/endpoints', {
        url: 'https://example.com/k',
        headers: { 'X-Key': 'static-value-123' },
      });
      await t.stop();

      await expect(start(k2)).rejects.toBeInstanceOf(KeyMismatchError);

      t = await start(`${k2},${k1}`);
      expect((await call(t, 'GET', `/v1/tenants/k/endpoints/${ep.id}/secret`)).secret).toBe(ep.secret);
      // A row written before encryption was switched on is still read, and sealed by the pass.
      await testDb.db.query(
        `UPDATE endpoints SET headers = '{"X-Legacy":"plain-legacy-value"}' WHERE id = $1`,
        [ep.id],
      );
      const { keys, activeId } = parseKeyMaterial(`${k2},${k1}`);
      const report = await testDb.db.tx((q) => resealAll(q, createSecretBox(keys, activeId)));
      expect(report.failed).toEqual({});
      expect(report.resealed['endpoints.secret']).toBe(1);
      expect(report.resealed['endpoints.headers']).toBe(1);
      expect(report.resealed['meta.value']).toBe(1);
      await t.stop();

      const raw = await testDb.db.query<{ secret: string; headers: string }>(
        'SELECT secret, headers FROM endpoints',
      );
      expect(raw[0]!.secret.startsWith('enc:v1:two:')).toBe(true);
      expect(raw[0]!.headers.startsWith('enc:v1:two:')).toBe(true);
      t = await start(k2);
      expect((await call(t, 'GET', `/v1/tenants/k/endpoints/${ep.id}/secret`)).secret).toBe(ep.secret);
      expect((await call(t, 'GET', `/v1/tenants/k/endpoints/${ep.id}`)).headers).toEqual({
        'X-Legacy': '****ue',
      });
      await t.stop();
    } finally {
      await testDb.drop();
    }
  });

  it('`tidings keys rotate --new-key` re-seals the embedded store with a fresh key file', async () => {
    const dir = tempDir();
    const config = loadConfig(
      {
        TIDINGS_PORT: '0',
        TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
        TIDINGS_LOG_LEVEL: 'silent',
        TIDINGS_DATA_DIR: dir,
      },
      { roles: 'api' },
    );
    let t = await startTidings(config);
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    await fetch(`${t.url}/v1/tenants`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ id: 'c', name: 'C' }),
    });
    const ep = (await (
      await fetch(`${t.url}/v1/tenants/c/endpoints`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ url: 'https://example.com/c' }),
      })
    ).json()) as { id: string; secret: string };
    await t.stop();
    const before = readFileSync(path.join(dir, 'encryption.key'), 'utf8');

    const env = {
      ...process.env,
      TIDINGS_DATA_DIR: dir,
      TIDINGS_ENCRYPTION_KEY: '',
      TIDINGS_LOG_LEVEL: 'warn',
    };
    const out = await run(process.execPath, [BIN, 'keys', 'rotate', '--new-key'], { env });
    expect(out.stdout).toContain('re-sealed');
    expect(out.stdout).toContain('dropped 1 old key');
    const after = readFileSync(path.join(dir, 'encryption.key'), 'utf8');
    expect(after.trim().split('\n')).toHaveLength(1);
    expect(after).not.toBe(before);
    expect(statSync(path.join(dir, 'encryption.key')).mode & 0o777).toBe(0o600);

    t = await startTidings(config);
    try {
      const shown = (await (
        await fetch(`${t.url}/v1/tenants/c/endpoints/${ep.id}/secret`, { headers })
      ).json()) as {
        secret: string;
      };
      expect(shown.secret).toBe(ep.secret);
    } finally {
      await t.stop();
    }
    const gen = await run(process.execPath, [BIN, 'keys', 'generate'], { env });
    expect(() => parseKeyMaterial(gen.stdout.trim())).not.toThrow();
  });
});
