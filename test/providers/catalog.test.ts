// Loading catalogs: idempotent, whole or not at all, at boot, through the API and the CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTidings } from '../../src/app.js';
import { CatalogError, loadCatalogFiles, loadCatalogIntoStore } from '../../src/catalog/load.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { type EventType, listEventTypes } from '../../src/store/eventTypes.js';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { catalogPath, catalogText } from './support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CATALOGS = ['highline', 'bank-payments', 'canopy', 'billie'];
const COUNTS: Record<string, number> = { highline: 16, 'bank-payments': 9, canopy: 11, billie: 18 };

/** The highline catalog with `settlements.sent` made unusable in two places. */
function brokenHighline(): string {
  return catalogText('highline')
    .replace(
      '"name": "settlements.sent",\n      "description": "The day when a settlement is sent by Highline.",\n      "group": "settlements",\n      "default_enabled": true,',
      '"name": "settlements.sent",\n      "description": "The day when a settlement is sent by Highline.",\n      "group": "settlements",\n      "default_enabled": "yes",',
    )
    .replace(
      '"required": ["pay_allocation_id", "metadata"]',
      '"requried": ["pay_allocation_id", "metadata"]',
    );
}

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/tidings.js', ...args], {
      cwd: ROOT,
      // TIDINGS_DEV: the sources, as every test runs them (vitest.config.ts).
      env: { PATH: process.env.PATH ?? '', TIDINGS_DEV: '1', TIDINGS_LOG_LEVEL: 'silent', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

const byName = (types: EventType[]) => new Map(types.map((t) => [t.name, t]));

describe.each(engines())('catalogs (%s)', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startApp(engine);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('loads each shipped catalog; loading it again changes nothing, not even updated_at', async () => {
    const db = app.testDb.db;
    for (const name of CATALOGS) {
      const first = await loadCatalogIntoStore(db, catalogText(name), name, new Date('2024-06-01T10:00:00Z'));
      expect(first).toMatchObject({ ok: true, updated: [], unchanged: [] });
      expect(first.ok && first.created.length).toBe(COUNTS[name]);
    }
    const before = await listEventTypes(db);
    // Every shipped type is there (the store may hold Tidings' own types beside them).
    const shipped = CATALOGS.flatMap(
      (name) => (JSON.parse(catalogText(name)) as { event_types: { name: string }[] }).event_types,
    ).map((t) => t.name);
    expect(shipped).toHaveLength(16 + 9 + 11 + 18);
    expect(
      before
        .filter((t) => shipped.includes(t.name))
        .map((t) => t.name)
        .sort(),
    ).toEqual(shipped.sort());
    for (const name of CATALOGS) {
      const again = await loadCatalogIntoStore(db, catalogText(name), name, new Date('2024-06-02T10:00:00Z'));
      expect(again).toMatchObject({ ok: true, created: [], updated: [] });
      expect(again.ok && again.unchanged.length).toBe(COUNTS[name]);
    }
    // Through the API as well: one transaction, same result.
    const viaApi = await app.api('PUT', '/v1/catalog?file=catalogs/canopy.json', undefined, {
      rawBody: catalogText('canopy'),
    });
    expect(viaApi.status).toBe(200);
    expect(viaApi.body).toMatchObject({ name: 'canopy', created: [], updated: [] });
    expect(await listEventTypes(db)).toEqual(before);
    // What was loaded is what the file says.
    const pdd = byName(before).get('payment_due_date')!;
    expect(pdd).toMatchObject({ group: 'configurable', default_enabled: false });
    expect(pdd.reminder).toMatchObject({ negative_offsets: true, periodic: false });
    expect(pdd.updated_at.toISOString()).toBe('2024-06-01T10:00:00.000Z');
  });

  it('a changed type is updated, alone', async () => {
    const db = app.testDb.db;
    const edited = catalogText('billie').replace(
      '"description": "Order is shipped."',
      '"description": "Order is shipped to the buyer."',
    );
    const res = await loadCatalogIntoStore(db, edited, 'billie.json', new Date('2024-06-03T10:00:00Z'));
    expect(res).toMatchObject({ ok: true, created: [], updated: ['order_shipped'] });
    const t = byName(await listEventTypes(db)).get('order_shipped')!;
    expect(t.description).toBe('Order is shipped to the buyer.');
    expect(t.updated_at.toISOString()).toBe('2024-06-03T10:00:00.000Z');
    const back = await loadCatalogIntoStore(db, catalogText('billie'), 'billie.json', new Date());
    expect(back).toMatchObject({ ok: true, updated: ['order_shipped'] });
  });

  it('a broken file is refused with the place of each problem, and the catalog in force stays', async () => {
    const db = app.testDb.db;
    const before = await listEventTypes(db);
    const broken = brokenHighline();

    const direct = await loadCatalogIntoStore(db, broken, 'catalogs/highline.json', new Date());
    expect(direct.ok).toBe(false);
    const errors = direct.ok ? [] : direct.errors;
    expect(errors).toEqual([
      expect.stringMatching(
        /^catalogs\/highline\.json:\d+:\d+: event_types\[7\]\.default_enabled: must be boolean$/,
      ),
    ]);
    // Once the shape is right, the schema problem is found too (it is checked after the shape).
    const onlySchema = broken.replace('"default_enabled": "yes"', '"default_enabled": true');
    const second = await loadCatalogIntoStore(db, onlySchema, 'catalogs/highline.json', new Date());
    expect(second.ok ? [] : second.errors).toEqual([
      expect.stringMatching(
        /^catalogs\/highline\.json:\d+:\d+: event_types\[11\]\.schema: not a usable JSON Schema: .*requried/,
      ),
    ]);

    const viaApi = await app.api<{ error: { code: string; message: string; details: { errors: string[] } } }>(
      'PUT',
      '/v1/catalog?file=highline.json',
      undefined,
      { rawBody: broken },
    );
    expect(viaApi.status).toBe(422);
    expect(viaApi.body.error.code).toBe('invalid_catalog');
    expect(viaApi.body.error.message).toMatch(
      /^The catalog is refused: highline\.json:\d+:\d+: event_types\[7\]/,
    );
    const syntax = await app.api<{ error: { details: { errors: string[] } } }>(
      'PUT',
      '/v1/catalog',
      undefined,
      { rawBody: '{\n  "name": "x",\n  "event_types": [],\n}' },
    );
    expect(syntax.status).toBe(422);
    expect(syntax.body.error.details.errors).toEqual([
      'catalog:4:1: expected a double-quoted property name, found "}" (a trailing comma?)',
    ]);
    const deep = await app.api<{ error: { code: string } }>('PUT', '/v1/catalog', undefined, {
      rawBody: `{"name":"x","event_types":[{"name":"a","description":"","default_enabled":true,"schema":${'{"not":'.repeat(80)}{}${'}'.repeat(80)}}]}`,
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error.code).toBe('json_too_deep');

    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tidings-catalog-')), 'highline.json');
    writeFileSync(file, broken);
    await expect(loadCatalogFiles(db, [catalogPath('billie'), file], new Date())).rejects.toThrow(
      /highline\.json:\d+:\d+: event_types\[7\]\.default_enabled: must be boolean/,
    );
    await expect(loadCatalogFiles(db, ['/nonexistent/catalog.json'], new Date())).rejects.toBeInstanceOf(
      CatalogError,
    );
    expect(await listEventTypes(db)).toEqual(before);
    rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('one schema compiler: PUT /v1/event-types refuses what a catalog file would; what it accepts is enforced at publish', async () => {
    for (const schema of [
      { type: 'object', requried: ['at'] },
      { type: 'object', properties: { at: { type: 'string', format: 'dat-time' } } },
    ]) {
      const res = await app.api<{ error: { code: string } }>('PUT', '/v1/event-types/strict.check', {
        schema,
      });
      expect(res.status, JSON.stringify(schema)).toBe(422);
      expect(res.body.error.code).toBe('invalid_schema');
      const file = JSON.stringify({
        name: 'strict',
        event_types: [{ name: 'strict.check', description: '', default_enabled: true, schema }],
      });
      const loaded = await loadCatalogIntoStore(app.testDb.db, file, 'strict.json', new Date());
      expect(loaded.ok ? [] : loaded.errors).toEqual([
        expect.stringMatching(/^strict\.json:1:\d+: event_types\[0\]\.schema: not a usable JSON Schema/),
      ]);
    }
    const schema = {
      type: 'object',
      required: ['at'],
      properties: { at: { type: 'string', format: 'date-time' } },
    };
    expect((await app.api('PUT', '/v1/event-types/strict.check', { schema })).status).toBe(201);
    expect((await app.api('POST', '/v1/tenants', { id: 'strict', name: 'Strict' })).status).toBe(201);
    const bad = await app.api<{ error: { code: string } }>('POST', '/v1/tenants/strict/events', {
      type: 'strict.check',
      payload: { at: 'yesterday' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('payload_invalid');
    const good = await app.api('POST', '/v1/tenants/strict/events', {
      type: 'strict.check',
      payload: { at: '2024-01-01T00:00:00Z' },
    });
    expect(good.status).toBe(202);
  });

  it('TIDINGS_CATALOG is loaded at boot; a bad file stops the boot and writes nothing', async () => {
    const db = app.testDb.db;
    const dir = mkdtempSync(path.join(tmpdir(), 'tidings-boot-'));
    const extra = path.join(dir, 'extra.json');
    writeFileSync(
      extra,
      JSON.stringify({
        name: 'extra',
        event_types: [{ name: 'extra.ping', description: 'A ping', default_enabled: true }],
      }),
    );
    const boot = (files: string) =>
      startTidings(
        loadConfig(
          {
            TIDINGS_PORT: '0',
            TIDINGS_HOST: '127.0.0.1',
            TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
            TIDINGS_CATALOG: files,
          },
          { roles: 'api' },
        ),
        { db, log: createLogger('silent') },
      );
    const t = await boot(`${catalogPath('highline')}, ${extra}`);
    await t.stop();
    const types = byName(await listEventTypes(db));
    expect(types.get('extra.ping')?.description).toBe('A ping');

    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, brokenHighline());
    writeFileSync(
      extra,
      JSON.stringify({
        name: 'extra',
        event_types: [{ name: 'extra.ping', description: 'Changed', default_enabled: true }],
      }),
    );
    const before = await listEventTypes(db);
    await expect(boot(`${extra},${broken}`)).rejects.toThrow(
      /catalog refused:\n {2}.*broken\.json:\d+:\d+: event_types\[7\]\.default_enabled: must be boolean/,
    );
    expect(await listEventTypes(db)).toEqual(before);
    rmSync(dir, { recursive: true, force: true });
  });

  // The command talks HTTP only, so one engine is enough (each run starts a node process).
  it.runIf(engine === engines()[0])(
    'tidings catalog load --url: through the running server; a broken file never reaches it',
    async () => {
      const ok = await runCli(
        ['catalog', 'load', 'catalogs/billie.json', '--url', app.url, '--token', ADMIN_TOKEN],
        {},
      );
      expect(ok).toMatchObject({
        code: 0,
        out: 'billie: 18 event types (0 created, 0 updated, 18 unchanged)\n',
      });

      const dir = mkdtempSync(path.join(tmpdir(), 'tidings-cli-'));
      const broken = path.join(dir, 'highline.json');
      writeFileSync(broken, brokenHighline());
      const refused = await runCli(['catalog', 'load', broken, '--url', app.url, '--token', ADMIN_TOKEN], {});
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(
        /is refused; nothing was loaded:\n {2}.*highline\.json:\d+:\d+: event_types\[7\]/,
      );

      const badToken = await runCli(
        ['catalog', 'load', 'catalogs/billie.json', '--url', app.url, '--token', 'nope'],
        {},
      );
      expect(badToken.code).toBe(1);
      expect(badToken.err).toMatch(/401 unauthorized/);
      rmSync(dir, { recursive: true, force: true });
    },
  );
});

describe('tidings catalog load (embedded store)', () => {
  it('writes straight into the data folder, idempotently, and respects the lock of a running server', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tidings-data-'));
    const env = { TIDINGS_DATA_DIR: dataDir };
    try {
      const first = await runCli(['catalog', 'load', 'catalogs/canopy.json'], env);
      expect(first).toMatchObject({
        code: 0,
        out: 'canopy: 11 event types (11 created, 0 updated, 0 unchanged)\n',
      });
      const again = await runCli(['catalog', 'load', 'catalogs/canopy.json'], env);
      expect(again).toMatchObject({
        code: 0,
        out: 'canopy: 11 event types (0 created, 0 updated, 11 unchanged)\n',
      });

      // A live process holds the folder (this test process stands in for a server).
      writeFileSync(path.join(dataDir, 'tidings.pid'), String(process.pid));
      const locked = await runCli(['catalog', 'load', 'catalogs/canopy.json'], env);
      expect(locked.code).toBe(1);
      expect(locked.err).toContain(`is in use by process ${process.pid}`);
      expect(locked.err).toContain('--url URL --token TOKEN');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
