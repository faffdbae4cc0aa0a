// The isolation matrix: every tenant-scoped route of the OpenAPI document (so routes added
// later are covered without touching this file) × four callers — the tenant's own token,
// another tenant's token, no token, the operator token — with the status each must get.
//
// Routes listed in EXPECTED are pinned to exact statuses. A route missing from it is still
// held to the invariants: no token → 401, another tenant's token → 404, the operator never
// 401/403, and the tenant's own token is never told its own tenant does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import {
  consumes,
  fill,
  makeTenantWorld,
  ok,
  type Route,
  request,
  routesOf,
  setUpCatalog,
  type TenantWorld,
} from './routeFixtures.js';

type Caller = 'own' | 'other' | 'none' | 'admin';
const CALLERS: Caller[] = ['none', 'other', 'own', 'admin'];

/** Status per caller; `other` and `none` are 404 and 401 on every tenant route. */
type Expect = { own: number; admin: number };

const OPERATOR_ONLY = (ok: number): Expect => ({ own: 403, admin: ok });
const TENANT = (ok: number): Expect => ({ own: ok, admin: ok });

const EXPECTED: Record<string, Expect> = {
  'GET /v1/tenants/{tid}': TENANT(200),
  'PATCH /v1/tenants/{tid}': OPERATOR_ONLY(200),
  'DELETE /v1/tenants/{tid}': OPERATOR_ONLY(204),
  'POST /v1/tenants/{tid}/endpoints': TENANT(201),
  'GET /v1/tenants/{tid}/endpoints': TENANT(200),
  'GET /v1/tenants/{tid}/endpoints/{eid}': TENANT(200),
  'PATCH /v1/tenants/{tid}/endpoints/{eid}': TENANT(200),
  'DELETE /v1/tenants/{tid}/endpoints/{eid}': TENANT(204),
  'GET /v1/tenants/{tid}/endpoints/{eid}/secret': TENANT(200),
  'POST /v1/tenants/{tid}/endpoints/{eid}/secret/rotate': TENANT(200),
  // The fixture endpoint has no client certificate: a valid body reaches the conflict.
  'POST /v1/tenants/{tid}/endpoints/{eid}/mtls/rotate': TENANT(409),
  'POST /v1/tenants/{tid}/endpoints/{eid}/recover': TENANT(202),
  'GET /v1/tenants/{tid}/endpoints/{eid}/ordering-keys': TENANT(200),
  'GET /v1/tenants/{tid}/endpoints/{eid}/deliveries': TENANT(200),
  'POST /v1/tenants/{tid}/endpoints/{eid}/test': TENANT(202),
  'POST /v1/tenants/{tid}/endpoints/{eid}/filter/test': TENANT(200),
  'POST /v1/tenants/{tid}/events': OPERATOR_ONLY(202),
  'GET /v1/tenants/{tid}/events': TENANT(200),
  'GET /v1/tenants/{tid}/events/{id}': TENANT(200),
  'GET /v1/tenants/{tid}/deliveries/{did}': TENANT(200),
  'POST /v1/tenants/{tid}/deliveries/{did}/resend': TENANT(202),
  'POST /v1/tenants/{tid}/deliveries/{did}/skip': TENANT(202),
  'GET /v1/tenants/{tid}/deliveries/{did}/request-body': TENANT(200),
  'POST /v1/tenants/{tid}/tokens': OPERATOR_ONLY(201),
  'GET /v1/tenants/{tid}/tokens': TENANT(200),
  'DELETE /v1/tenants/{tid}/tokens/{token_id}': TENANT(204),
  'PUT /v1/tenants/{tid}/reminder-rules': TENANT(200),
  'GET /v1/tenants/{tid}/reminder-rules': TENANT(200),
  'DELETE /v1/tenants/{tid}/reminder-rules': TENANT(204),
  'PUT /v1/tenants/{tid}/anchors/{anchor_id}': OPERATOR_ONLY(200),
  'GET /v1/tenants/{tid}/anchors/{anchor_id}': TENANT(200),
  'GET /v1/tenants/{tid}/anchors': TENANT(200),
  'POST /v1/tenants/{tid}/anchors/{anchor_id}/resolve': OPERATOR_ONLY(200),
  'PUT /v1/tenants/{tid}/calendar': TENANT(200),
  'GET /v1/tenants/{tid}/calendar': TENANT(200),
  'PUT /v1/tenants/{tid}/accounts/{account_id}/notification_config': TENANT(200),
  'GET /v1/tenants/{tid}/accounts/{account_id}/notification_config': TENANT(200),
  'DELETE /v1/tenants/{tid}/accounts/{account_id}/notification_config': TENANT(200),
  'POST /v1/tenants/{tid}/portal-links': OPERATOR_ONLY(201),
  'GET /v1/tenants/{tid}/portal-sessions': TENANT(200),
  'DELETE /v1/tenants/{tid}/portal-sessions': TENANT(200),
  'DELETE /v1/tenants/{tid}/portal-sessions/{sid}': TENANT(404),
};

type World = TenantWorld & { otherToken: string };

describe.each(engines())('tenant isolation matrix (%s)', (engine) => {
  let app: TestApp;
  let routes: Route[];
  let shared: World;
  let otherToken: string;
  let worlds = 0;

  async function makeWorld(): Promise<World> {
    const w = await makeTenantWorld(app.api, `iso-${engine}-${++worlds}`);
    return { ...w, otherToken };
  }

  beforeAll(async () => {
    app = await startApp(engine, {}, { roles: 'api' });
    await setUpCatalog(app.api);
    await ok(app.api, 'POST', '/v1/tenants', { id: 'stranger', name: 'Stranger' });
    otherToken = (await ok<{ token: string }>(app.api, 'POST', '/v1/tenants/stranger/tokens', {})).token;
    shared = await makeWorld();
    routes = await routesOf(app.url, (r) => r.path.includes('{tid}'));
  });
  afterAll(() => app?.stop());

  it('finds the tenant routes in the OpenAPI document', () => {
    expect(routes.length).toBeGreaterThanOrEqual(20);
    for (const known of ['GET /v1/tenants/{tid}/endpoints/{eid}', 'POST /v1/tenants/{tid}/events']) {
      expect(routes.map((r) => `${r.method} ${r.path}`)).toContain(known);
    }
  });

  it('every route × every caller', async () => {
    const seen: string[] = [];
    const failures: string[] = [];
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      const { body, query } = request(route);
      const row: string[] = [];
      for (const caller of CALLERS) {
        const w = consumes(route) ? await makeWorld() : shared;
        const path = fill(route, w.params) + (query ? `?${query}` : '');
        const token =
          caller === 'own'
            ? w.token
            : caller === 'other'
              ? w.otherToken
              : caller === 'none'
                ? null
                : undefined;
        const res = await app.api(route.method, path, body, { token });
        row.push(`${caller} ${res.status}`);
        const fail = (why: string) =>
          failures.push(
            `${key} as ${caller}: ${why} (got ${res.status} ${JSON.stringify(res.body).slice(0, 200)})`,
          );
        const pinned = EXPECTED[key];
        if (caller === 'none' && res.status !== 401) fail('expected 401');
        if (caller === 'other') {
          if (res.status !== 404) fail('expected 404');
          const text = JSON.stringify(res.body);
          for (const s of w.secrets) if (text.includes(s)) fail(`answer names ${s}`);
        }
        if (caller === 'own') {
          if (pinned && res.status !== pinned.own) fail(`expected ${pinned.own}`);
          if (
            !pinned &&
            (res.status === 401 ||
              (res.body as { error?: { code?: string } })?.error?.code === 'tenant_not_found')
          ) {
            fail('own token refused');
          }
        }
        if (caller === 'admin') {
          if (pinned && res.status !== pinned.admin) fail(`expected ${pinned.admin}`);
          if (!pinned && (res.status === 401 || res.status === 403)) fail('operator refused');
        }
      }
      seen.push(`${key}: ${row.join(', ')}`);
    }
    console.log(`isolation matrix (${engine}):\n  ${seen.join('\n  ')}`);
    expect(failures).toEqual([]);
    // Every pinned route still exists, so the table cannot silently go stale.
    const present = new Set(routes.map((r) => `${r.method} ${r.path}`));
    expect(Object.keys(EXPECTED).filter((k) => !present.has(k))).toEqual([]);
  });

  it("another tenant's token cannot reach the data under its own tenant id either", async () => {
    const mine = shared.params;
    for (const path of [
      `/v1/tenants/stranger/endpoints/${mine.eid}`,
      `/v1/tenants/stranger/events/${mine.id}`,
      `/v1/tenants/stranger/deliveries/${mine.did}`,
      `/v1/tenants/stranger/anchors/${mine.anchor_id}`,
      `/v1/tenants/stranger/endpoints/${mine.eid}/secret`,
    ]) {
      const res = await app.api('GET', path, undefined, { token: otherToken });
      expect(res.status, path).toBe(404);
    }
    const rotate = await app.api(
      'POST',
      `/v1/tenants/stranger/endpoints/${mine.eid}/secret/rotate`,
      {},
      { token: otherToken },
    );
    expect(rotate.status).toBe(404);
    const del = await app.api('DELETE', `/v1/tenants/stranger/endpoints/${mine.eid}`, undefined, {
      token: otherToken,
    });
    expect(del.status).toBe(404);
    expect((await app.api('GET', `/v1/tenants/${shared.tid}/endpoints/${mine.eid}`)).status).toBe(200);
  });
});
