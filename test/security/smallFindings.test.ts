// The smaller findings of issue 13, each as a test: crafted cursors (500 on 7 list routes),
// dates outside what both engines hold (500 for year 0000; a year-0001 anchor stored as 2001
// on PGlite), masking that showed 4 + 2 characters of any length, health and docs routes
// answering 401 to a bad bearer token, port 0 and backslash authorities accepted, the
// generated admin token printed into the log stream, the key file's place unexplained.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { maskSecret } from '../../src/delivery/request.js';
import { createLogger } from '../../src/log.js';
import { ADMIN_TOKEN_FILE } from '../../src/security/adminToken.js';
import { KEY_FILE_NAME, loadSecretBox } from '../../src/security/keys.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines, freshDb } from '../helpers/engines.js';
import { spawnTidings } from '../helpers/processes.js';
import { encodePart, fill, makeTenantWorld, setUpCatalog, type TenantWorld } from './routeFixtures.js';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Cursors no list route handed out; each must answer 400, never 500. */
const CRAFTED_CURSORS: [string, string][] = [
  ['[1e400] (Infinity)', b64('[1e400]')],
  ['[-1e400]', b64('[-1e400]')],
  ['[1.5]', b64('[1.5]')],
  ['[2^53 + 1]', b64('[9007199254740993]')],
  ['[1e20]', b64('[1e20]')],
  ['escaped NUL', b64('["a\\u0000b"]')],
  ['raw NUL', b64('["a\u0000b"]')],
  ['NUL in both parts', b64('["\\u0000","\\u0000"]')],
  ['NUL and number', b64('[1,"\\u0000"]')],
  ['null', b64('[null]')],
  ['nested', b64('[[1],{"a":1}]')],
  ['too many parts', b64('[1,2,3,4,5]')],
  ['not an array', b64('"text"')],
  ['long string', b64(JSON.stringify(['x'.repeat(350)]))],
  ['not base64', '!!!$$$'],
  ['empty array', b64('[]')],
];

const LOWER = '0000-01-01T00:00:00Z';
const BAD_DATES = [LOWER, '0001-01-01T00:00:00Z', '0099-06-01T00:00:00Z', '9999-12-31T23:59:59-05:00'];

describe('masking', () => {
  it('shows at most one character in eight, never more than four, and never the start', () => {
    for (let n = 0; n <= 80; n++) {
      const value = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');
      const masked = maskSecret(value);
      const shown = masked.replace(/^\*\*\*\*/, '');
      expect(masked.startsWith('****'), value).toBe(true);
      expect(shown.length, value).toBeLessThanOrEqual(Math.min(4, Math.floor(n / 8)));
      expect(value.endsWith(shown)).toBe(true);
    }
    // The finding: a 9-character credential showed 6 of its characters.
    expect(maskSecret('Abc123xyz')).toBe('****z');
  });
});

describe.each(engines())('small findings (%s)', (engine) => {
  let app: TestApp;
  let world: TenantWorld;
  let listRoutes: { path: string; tenant: boolean }[];
  beforeAll(async () => {
    app = await startApp(engine, { TIDINGS_RATE_LIMIT_PER_S: '0' }, { roles: 'api' });
    await setUpCatalog(app.api);
    world = await makeTenantWorld(app.api, 'small');
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    };
    listRoutes = Object.entries(doc.paths)
      .filter(([, ops]) => ops.get?.parameters?.some((p) => p.in === 'query' && p.name === 'cursor'))
      .map(([p]) => ({ path: p, tenant: p.includes('{tid}') }));
  });
  afterAll(() => app?.stop());

  it('answers 400 to every crafted cursor on every list route', async () => {
    expect(listRoutes.length).toBeGreaterThanOrEqual(8);
    const failures: string[] = [];
    for (const route of listRoutes) {
      const base = fill({ method: 'GET', path: route.path }, world.params);
      for (const [name, cursor] of CRAFTED_CURSORS) {
        const r = await app.api<{ error?: { code: string } }>(
          'GET',
          `${base}?cursor=${encodePart(cursor)}`,
          undefined,
          route.tenant ? { token: world.token } : {},
        );
        if (r.status !== 400 || !r.body.error?.code) {
          failures.push(`${route.path} ${name} → ${r.status} ${JSON.stringify(r.body).slice(0, 120)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses dates outside what both engines store, in bodies (422) and query strings (400)', async () => {
    const failures: string[] = [];
    const expectStatus = async (what: string, status: number, p: Promise<{ status: number }>) => {
      const r = await p;
      if (r.status !== status) failures.push(`${what} → ${r.status}`);
    };
    for (const d of BAD_DATES) {
      await expectStatus(
        `token expires_at ${d}`,
        422,
        app.api('POST', '/v1/tenants/small/tokens', { expires_at: d }),
      );
      await expectStatus(
        `anchor at ${d}`,
        422,
        app.api('PUT', '/v1/tenants/small/anchors/a-date', {
          event_type: 'loan.due',
          subject: 's',
          at: d,
          payload: {},
        }),
      );
      await expectStatus(
        `recover since ${d}`,
        422,
        app.api(
          'POST',
          `/v1/tenants/small/endpoints/${world.params.eid}/recover`,
          { since: d },
          {
            token: world.token,
          },
        ),
      );
      await expectStatus(
        `events created_after ${d}`,
        400,
        app.api('GET', `/v1/tenants/small/events?created_after=${encodePart(d)}`, undefined, {
          token: world.token,
        }),
      );
    }
    // An anchor leaves room for the reminder times computed from it.
    await expectStatus(
      'anchor at 9995',
      422,
      app.api('PUT', '/v1/tenants/small/anchors/a-late', {
        event_type: 'loan.due',
        subject: 's',
        at: '9995-01-01T00:00:00Z',
        payload: {},
      }),
    );
    expect(failures).toEqual([]);
    expect((await app.api('GET', '/v1/tenants/small/anchors/a-date')).status).toBe(404);
    // The edges themselves are kept exactly.
    const edge = await app.api<{ at: string }>('PUT', '/v1/tenants/small/anchors/a-edge', {
      event_type: 'loan.due',
      subject: 's',
      at: '1100-03-01T00:00:00Z',
      payload: {},
    });
    expect(edge.status).toBe(201);
    expect((await app.api<{ at: string }>('GET', '/v1/tenants/small/anchors/a-edge')).body.at).toBe(
      '1100-03-01T00:00:00.000Z',
    );
    const ok = await app.api('GET', '/v1/tenants/small/events?created_after=1000-01-01T00:00:00Z');
    expect(ok.status).toBe(200);
  });

  it('answers health and docs routes whatever bearer token comes with them', async () => {
    for (const p of ['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/']) {
      for (const authorization of ['Bearer not-a-token', 'Bearer ', 'Basic Zm9vOmJhcg==']) {
        const r = await fetch(`${app.url}${p}`, { headers: { authorization } });
        // Read the body: an unread large answer keeps its connection busy and the server's close waiting.
        await r.arrayBuffer();
        expect(r.status, `${p} with ${authorization}`).toBeLessThan(400);
      }
    }
    // Everything else still checks it.
    const r = await fetch(`${app.url}/v1/event-types`, { headers: { authorization: 'Bearer not-a-token' } });
    await r.arrayBuffer();
    expect(r.status).toBe(401);
  });

  it('refuses port 0, backslashes, spaces and control characters in endpoint URLs', async () => {
    for (const url of [
      'http://example.com:0/',
      'https://example.com:00/x',
      'http://example.com\\@127.0.0.1/',
      'http://example.com\\@127.0.0.1:8080/x',
      'http://exa mple.com/',
      'http://example.com/\tx',
      'http://example.com/\nx',
    ]) {
      const made = await app.api<{ error: { code: string } }>(
        'POST',
        '/v1/tenants/small/endpoints',
        { url },
        {
          token: world.token,
        },
      );
      expect(made.status, url).toBe(422);
      expect(made.body.error.code).toBe('invalid_url');
      const patched = await app.api(
        'PATCH',
        `/v1/tenants/small/endpoints/${world.params.eid}`,
        { url },
        { token: world.token },
      );
      expect(patched.status, url).toBe(422);
    }
  });

  it('refuses unpaired UTF-16 surrogates in bodies with 400, which json and jsonb cannot hold', async () => {
    // Found by the adversarial suite: the filter test route answered 500 on PGlite.
    for (const [path, body] of [
      [
        `/v1/tenants/small/endpoints/${world.params.eid}/filter/test`,
        { payload: { '\ud800': '' }, filter: { amount_cents: { $gte: 1 } } },
      ],
      ['/v1/tenants/small/events', { type: 'bill.paid', payload: { memo: 'x\udc00' } }],
    ] as const) {
      const r = await app.api<{ error: { code: string } }>('POST', path, body, { token: world.token });
      expect(r.status, path).toBe(400);
      expect(r.body.error.code).toBe('invalid_character');
    }
    // A pair (an emoji) is a character like any other.
    const ok = await app.api(
      'POST',
      `/v1/tenants/small/endpoints/${world.params.eid}/filter/test`,
      { payload: { memo: 'paid 💸' }, filter: { memo: { $eq: 'paid 💸' } } },
      { token: world.token },
    );
    expect(ok.status).toBe(200);
  });
});

describe.each(engines())('the generated admin token (%s)', (engine) => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('never reaches the log stream; with no terminal it is left in a private file', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tidings-admin-'));
    dirs.push(dataDir);
    const db = engine === 'pg' ? await freshDb('pg') : undefined;
    const env: Record<string, string> = {
      TIDINGS_DATA_DIR: dataDir,
      TIDINGS_PORT: '0',
      TIDINGS_ADMIN_TOKEN: '',
      TIDINGS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      ...(db ? { DATABASE_URL: db.url!, TIDINGS_DB_SCHEMA: db.schema! } : {}),
    };
    // Detached: no controlling terminal, as under a service manager or in a container.
    const child = spawnTidings(['serve', '--roles', 'api'], env, { detached: true });
    try {
      await child.waitForOutput(/tidings started/);
      await child.waitForOutput(/admin token/);
      const out = child.output();
      expect(out).not.toMatch(/tid_admin_/);
      const file = path.join(dataDir, ADMIN_TOKEN_FILE);
      expect(out).toContain(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, 'utf8').trim();
      expect(token).toMatch(/^tid_admin_/);
      const url = /"url":"(http:\/\/[^"]+)"/.exec(out)![1]!;
      const r = await fetch(`${url}/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      expect(r.status).toBe(200);
    } finally {
      await child.kill('SIGTERM');
      await db?.drop();
    }
  });
});

describe('the key file', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'tidings-keyfile-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const captured = () => {
    let out = '';
    const log = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, cb) {
          out += String(chunk);
          cb();
        },
      }),
    );
    return { log, text: () => out };
  };

  it('says at first start where it is, why there, and what that means for backups', () => {
    const dataDir = tempDir();
    const c = captured();
    const loaded = loadSecretBox(loadConfig({ TIDINGS_DATA_DIR: dataDir }), c.log);
    expect(loaded.file).toBe(path.join(dataDir, KEY_FILE_NAME));
    const said = c.text();
    expect(said).toContain(path.join(dataDir, KEY_FILE_NAME));
    expect(said).toMatch(/backup of that folder therefore holds the key/);
    expect(said).toContain('TIDINGS_ENCRYPTION_KEY_FILE');
    // Said once: a second start finds the file and says nothing about it.
    const again = captured();
    loadSecretBox(loadConfig({ TIDINGS_DATA_DIR: dataDir }), again.log);
    expect(again.text()).not.toContain(KEY_FILE_NAME);
  });

  it('can be kept out of the data folder with TIDINGS_ENCRYPTION_KEY_FILE', () => {
    const dataDir = tempDir();
    const keyFile = path.join(tempDir(), 'tidings.key');
    const c = captured();
    const loaded = loadSecretBox(
      loadConfig({ TIDINGS_DATA_DIR: dataDir, TIDINGS_ENCRYPTION_KEY_FILE: keyFile }),
      c.log,
    );
    expect(loaded.file).toBe(keyFile);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(() => statSync(path.join(dataDir, KEY_FILE_NAME))).toThrow();
    expect(c.text()).toContain(keyFile);
  });
});
