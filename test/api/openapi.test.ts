// The OpenAPI document: every route has its entry in src/api/operations.ts, the committed
// docs/openapi.json is what the routes give, a running server serves the same, and every
// error answer a route really gives (probed on a running server) is documented with its code.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentText } from '../../scripts/openapi.js';
import { errorCodes } from '../../src/api/openapi/errorResponses.js';
import { OPERATIONS, TAGS } from '../../src/api/operations.js';
import { buildApiDocument, documentConfig } from '../../src/apiDocument.js';
import { PROFILE_NAMES } from '../../src/delivery/profiles/index.js';
import { startApp, type TestApp } from '../helpers/app.js';
import {
  consumes,
  fill,
  makeTenantWorld,
  ok,
  type Route,
  request,
  setUpCatalog,
  type TenantWorld,
} from '../security/routeFixtures.js';

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  responses: Record<string, { content?: { 'application/json'?: { schema?: ErrorSchema } } }>;
}
interface ErrorSchema {
  allOf?: { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } }[];
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, unknown>;
  tags: { name: string }[];
  servers: { url: string }[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function operations(doc: Document): [Route, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => METHODS.includes(m))
      .map(([m, op]): [Route, Operation] => [{ method: m.toUpperCase(), path }, op]),
  );
}

const fastifyKey = (r: Route) => `${r.method} ${r.path.replace(/\{(\w+)\}/g, ':$1')}`;

function documentedCodes(op: Operation, status: number): string[] | undefined {
  const schema = op.responses[String(status)]?.content?.['application/json']?.schema;
  return schema?.allOf?.[1]?.properties?.error?.properties?.code?.enum;
}

describe('OpenAPI document', () => {
  let built: Document;
  beforeAll(async () => {
    built = (await buildApiDocument()) as unknown as Document;
  });

  it('has a registry entry for every operation, and no entry without its route', () => {
    const keys = operations(built).map(([r]) => fastifyKey(r));
    const missing = keys.filter((k) => !OPERATIONS[k]);
    expect(missing, 'add these routes to src/api/operations.ts').toEqual([]);
    const stale = Object.keys(OPERATIONS).filter((k) => !keys.includes(k));
    expect(stale, 'entries of src/api/operations.ts without a route').toEqual([]);
  });

  it('gives every operation a unique operationId, a summary and a declared tag', () => {
    const ids = new Set<string>();
    const tags = new Set(built.tags.map((t) => t.name));
    for (const [route, op] of operations(built)) {
      expect(op.operationId, fastifyKey(route)).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.has(op.operationId!), `duplicate ${op.operationId}`).toBe(false);
      ids.add(op.operationId!);
      expect(op.summary, fastifyKey(route)).toBeTruthy();
      for (const t of op.tags ?? []) expect(tags.has(t), t).toBe(true);
    }
    expect(TAGS.length).toBeGreaterThan(0);
  });

  it('leaves the portal pages out and documents every wire profile as a webhook', () => {
    expect(Object.keys(built.paths).filter((p) => !p.startsWith('/v1/'))).toEqual([]);
    expect(Object.keys(built.webhooks).sort()).toEqual([...PROFILE_NAMES].sort());
  });

  it('documents 401, 403 and 429 on every operation, with their codes', () => {
    for (const [route, op] of operations(built)) {
      expect(documentedCodes(op, 401), fastifyKey(route)).toContain('unauthorized');
      expect(documentedCodes(op, 403), fastifyKey(route)).toContain('csrf_token_invalid');
      expect(documentedCodes(op, 429), fastifyKey(route)).toEqual(['rate_limited']);
    }
  });

  it('derives body, query and path errors from the route', () => {
    const codes = errorCodes(
      {
        method: 'POST',
        url: '/v1/tenants/:tid/things/:eid',
        hasBody: true,
        queryKeys: ['cursor'],
        hasHeaders: false,
      },
      undefined,
    );
    expect(codes.get(415)).toEqual(['unsupported_media_type']);
    expect(codes.get(413)).toEqual(['body_too_large']);
    expect(codes.get(422)).toEqual(['invalid_request']);
    expect(codes.get(404)).toEqual(['tenant_not_found', 'endpoint_not_found']);
    expect(codes.get(400)).toEqual(
      expect.arrayContaining(['malformed_json', 'invalid_cursor', 'invalid_params']),
    );
    expect(codes.get(403)).toEqual(['csrf_token_invalid']);
    const get = errorCodes(
      { method: 'GET', url: '/v1/audit-log', hasBody: false, queryKeys: [], hasHeaders: false },
      undefined,
    );
    expect(get.has(415)).toBe(false);
    expect(get.get(403)).toContain('forbidden');
  });

  it('is committed as docs/openapi.json (run `npx tsx scripts/openapi.ts` after changing a route)', () => {
    expect(readFileSync('docs/openapi.json', 'utf8')).toBe(documentText(built));
  });
});

describe('the OpenAPI document of a running server', () => {
  let app: TestApp;
  let served: Document;
  let world: TenantWorld;
  let strangerToken: string;
  let worlds = 0;

  beforeAll(async () => {
    app = await startApp('pglite', {}, { roles: 'api' });
    served = (await app.api<Document>('GET', '/openapi.json')).body;
    await setUpCatalog(app.api);
    await ok(app.api, 'POST', '/v1/tenants', { id: 'stranger', name: 'Stranger' });
    strangerToken = (await ok<{ token: string }>(app.api, 'POST', '/v1/tenants/stranger/tokens', {})).token;
    world = await makeTenantWorld(app.api, 'doc-1');
  });
  afterAll(() => app?.stop());

  it('is the document built in process, with its own address as the server', async () => {
    const built = (await buildApiDocument(app.tidings.config)) as unknown as Document;
    expect(served.servers).toEqual([{ url: app.url, description: 'This deployment' }]);
    expect({ ...served, servers: [] }).toEqual({ ...built, servers: [] });
    const defaults = (await buildApiDocument(documentConfig())) as unknown as Document;
    expect(defaults.servers[0]!.url).toBe('http://127.0.0.1:8080');
  });

  it('documents every error status and code that the routes answer', async () => {
    const failures: string[] = [];
    let probes = 0;
    for (const [route, op] of operations(served)) {
      const key = `${route.method} ${route.path}`;
      const valid = request(route);
      const takesBody = route.method !== 'GET';
      const probe = async (
        why: string,
        path: string,
        opts: { body?: unknown; rawBody?: string; token?: string | null; headers?: Record<string, string> },
      ) => {
        const res = await app.api<{ error?: { code?: string } }>(route.method, path, opts.body, {
          ...(opts.rawBody !== undefined ? { rawBody: opts.rawBody } : {}),
          ...(opts.token !== undefined ? { token: opts.token } : {}),
          ...(opts.headers ? { headers: opts.headers } : {}),
        });
        probes += 1;
        if (res.status < 400) return;
        const code = res.body?.error?.code;
        const codes = documentedCodes(op, res.status);
        if (res.status >= 500) failures.push(`${key} (${why}): ${res.status} ${JSON.stringify(res.body)}`);
        else if (!codes) failures.push(`${key} (${why}): status ${res.status} (${code}) is not documented`);
        else if (!code || !codes.includes(code)) {
          failures.push(`${key} (${why}): ${res.status} code ${code} is not among ${codes.join(', ')}`);
        }
      };
      const query = valid.query ? `?${valid.query}` : '';
      const own = fill(route, world.params) + query;
      // A call that may succeed on a route that uses up what it acts on (a DELETE of the
      // catalog's type too) gets its own world.
      const fresh = async () => {
        if (!consumes(route)) return own;
        await setUpCatalog(app.api);
        return fill(route, (await makeTenantWorld(app.api, `doc-${++worlds + 1}`)).params) + query;
      };
      await probe('no token', own, { body: valid.body, token: null });
      await probe('bad token', own, { body: valid.body, token: 'not-a-token' });
      await probe("another tenant's token", own, { body: valid.body, token: strangerToken });
      await probe('own token', await fresh(), { body: valid.body, token: world.token });
      await probe('operator', await fresh(), { body: valid.body });
      const nowhere = route.path.replace(/\{(\w+)\}/g, (_, p: string) => (p === 'tid' ? world.tid : 'nope'));
      await probe('unknown ids', nowhere + query, { body: valid.body });
      await probe('a NUL in the query', `${own}${query ? '&' : '?'}x=%00`, { body: valid.body });
      if (takesBody) {
        await probe('malformed JSON', own, { rawBody: '{"a": ' });
        await probe('not JSON', own, { rawBody: '<a/>', headers: { 'content-type': 'application/xml' } });
        await probe('unknown field', await fresh(), { body: { zz_unknown: 1 } });
        await probe('too large', own, { rawBody: JSON.stringify({ a: 'x'.repeat(1_100_000) }) });
      }
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThan(300);
    // Several hundred requests and a few dozen fixtures: room for a loaded machine.
  }, 300_000);

  it('answers an unsupported content type with 415 and its own code', async () => {
    const res = await app.api('POST', '/v1/tenants', undefined, {
      rawBody: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(res.body).toEqual({
      error: {
        code: 'unsupported_media_type',
        message: 'Send the body as JSON, with "Content-Type: application/json".',
        details: null,
      },
    });
  });
});
