// The adversarial suite (issue 13): one tenant's token against everything a tenant can write,
// while a real worker and scheduler run. Routes and fields come from the OpenAPI document, so
// a route or field added later is attacked without touching this file. Every tenant-writable
// field gets values chosen for its declared type: numbers that overflow the engine's
// arithmetic (1e-14, 1e400, 5e-324, 2^53 + 1), strings at and past their length limits,
// dates and offsets out of range, URLs that smuggle addresses, collections past their limits,
// metadata of hundreds of kilobytes, nesting, NUL, lone surrogates. Then every list route
// gets crafted cursors and query strings. Throughout: nothing answers 5xx, a refused request
// leaves every table as it was, the quota counters stay true, and a second tenant's deliveries
// and reminders still flow to a real receiver.
//
// Bounded by a fixed number of runs (TIDINGS_ADVERSARIAL_RUNS write cases per engine, half as
// many query cases), never by a time limit; the counts are printed.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { engines } from '../helpers/engines.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { until } from '../helpers/wait.js';
import { HOSTILE_TEXT, hostileString, hostileValue } from './hostile.js';
import {
  consumes,
  encodePart,
  fill,
  makeTenantWorld,
  REMINDER_TYPE,
  type Route,
  request,
  setUpCatalog,
  type TenantWorld,
} from './routeFixtures.js';

const WRITE_RUNS = Number(process.env.TIDINGS_ADVERSARIAL_RUNS ?? 300);
const QUERY_RUNS = Math.ceil(WRITE_RUNS / 2);

/** The parts of a JSON Schema (as the OpenAPI document has them) the generators look at. */
interface FieldSchema {
  type?: string | string[];
  anyOf?: FieldSchema[];
  items?: FieldSchema;
  properties?: Record<string, FieldSchema>;
  additionalProperties?: FieldSchema | boolean;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
}
interface Operation {
  requestBody?: { content?: Record<string, { schema?: FieldSchema }> };
  parameters?: { name: string; in: string; schema?: FieldSchema }[];
}
interface Op extends Route {
  op: Operation;
}

/** A number written into the body text as is: JSON.stringify cannot write 1e400 or 1e-14 exactly. */
const raw = (text: string) => `__RAW__${text}__`;
const bodyText = (v: unknown) => JSON.stringify(v).replace(/"__RAW__([^"]*?)__"/g, '$1');

const EXTREME_NUMBERS = [
  raw('1e-14'),
  raw('1.2e-13'),
  raw('5e-324'),
  raw('1e-300'),
  raw('1e400'),
  raw('-1e400'),
  raw('123456789012345678901234567890'),
  raw('-0'),
  0,
  -1,
  0.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  2 ** 31,
  2 ** 63,
];

/** Strings a tenant field should refuse or hold safely, beyond the generic hostile ones. */
const FIELD_TEXT = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59-05:00',
  '+275760-09-13T00:00:00Z',
  '-3650 days',
  '99999999 days',
  '1e400 days',
  '-0 days',
  'Mars/Olympus_Mons',
  '+99:00',
  'http://example.invalid:0/',
  'http://example.invalid\\@127.0.0.1/',
  'http://[::ffff:169.254.169.254]/',
  'http://0x7f000001/',
  'http://127.1/',
  'whsec_AAAA',
  'whsk_' + 'A'.repeat(43),
  'x'.repeat(100_000),
];

function kindsOf(s: FieldSchema | undefined): Set<string> {
  const out = new Set<string>();
  if (!s) return out;
  for (const t of Array.isArray(s.type) ? s.type : s.type ? [s.type] : []) out.add(t);
  for (const branch of s.anyOf ?? []) for (const t of kindsOf(branch)) out.add(t);
  return out;
}

function firstOf(s: FieldSchema | undefined, kind: string): FieldSchema | undefined {
  if (!s) return undefined;
  if (kindsOf({ type: s.type ?? [] }).has(kind)) return s;
  return s.anyOf?.map((b) => firstOf(b, kind)).find(Boolean);
}

/** Extreme and malformed values for one field, chosen by its declared type. */
function extreme(s: FieldSchema | undefined): fc.Arbitrary<unknown> {
  const kinds = kindsOf(s);
  const options: fc.Arbitrary<unknown>[] = [hostileValue];
  if (kinds.has('number') || kinds.has('integer')) {
    const n = firstOf(s, 'number') ?? firstOf(s, 'integer');
    options.push(
      fc.constantFrom<unknown>(...EXTREME_NUMBERS, (n?.maximum ?? 1e6) + 1, (n?.minimum ?? 0) - 0.001),
      fc.double(),
      fc.integer(),
    );
  }
  if (kinds.has('string')) {
    const max = firstOf(s, 'string')?.maxLength ?? 3000;
    options.push(
      hostileString,
      fc.constantFrom(...FIELD_TEXT, 'x'.repeat(max), 'x'.repeat(max + 1), '☃'.repeat(max)),
    );
  }
  if (kinds.has('array')) {
    const a = firstOf(s, 'array');
    const over = (a?.maxItems ?? 100) + 1;
    options.push(
      fc.array(extreme(a?.items), { maxLength: 4 }),
      fc.constant(Array.from({ length: over }, (_, i) => `item-${i}`)),
      fc.constant(Array.from({ length: 5000 }, () => 'x'.repeat(20))),
      fc.constant([[[[[['deep']]]]]]),
    );
  }
  if (kinds.has('object')) {
    const o = firstOf(s, 'object');
    const keys = (o?.maxProperties ?? 100) + 1;
    options.push(
      fc.dictionary(hostileString, hostileValue, { maxKeys: 4 }),
      fc.constant(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]))),
      fc.constant({ blob: 'x'.repeat(300_000) }),
      fc.constant(JSON.parse(`${'{"a":'.repeat(60)}1${'}'.repeat(60)}`) as unknown),
      fc.constant(JSON.parse('{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}') as unknown),
    );
  }
  if (kinds.has('boolean')) options.push(fc.constantFrom<unknown>('true', 1, 'yes'));
  return fc.oneof(...options);
}

/** Cursors no list route handed out: numbers that overflow a bigint or are not whole, NUL, odd shapes. */
const b64 = (text: string) => Buffer.from(text).toString('base64url');
const CRAFTED_CURSORS = [
  b64('[1e400]'),
  b64('[-1e400]'),
  b64('[1.5]'),
  b64('["a\\u0000b"]'),
  b64('["\\u0000","\\u0000"]'),
  b64('[1,"\\u0000"]'),
  b64('["\\ud800"]'),
  b64('[9007199254740993]'),
  b64('[1e20]'),
  b64('[-1]'),
  b64('[null]'),
  b64('["x","y","z"]'),
  b64('[[1],{}]'),
];
const BAD_DATES = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59-05:00',
  '2031-02-30T00:00:00Z',
];
/** Other query-string values: numbers past their range, words for booleans, huge text. */
const QUERY_TEXT = [
  '1e400',
  '-1',
  '0',
  '251',
  '1.5',
  'NaN',
  'Infinity',
  'maybe',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '10000-01-01T00:00:00Z',
  'x'.repeat(6000),
];

describe.each(engines())('adversarial tenant (%s)', (engine) => {
  let app: TestApp;
  let sinkA: Receiver;
  let rxB: Receiver;
  let world: TenantWorld;
  let writeOps: Op[];
  let readOps: Op[];
  let tables: string[];
  let flows = 0;

  async function counts(): Promise<Record<string, number>> {
    const sql = `SELECT ${tables.map((t) => `(SELECT count(*) FROM "${t}")::int AS "${t}"`).join(', ')}`;
    return (await app.testDb.db.query<Record<string, number>>(sql))[0]!;
  }

  /** Tenant B publishes an event and has a reminder fall due: both must reach B's receiver. */
  async function secondTenantFlows(): Promise<void> {
    flows += 1;
    const mark = `flow-${flows}`;
    const pub = await app.api('POST', '/v1/tenants/adv-b/events', { type: 'loan.paid', payload: { mark } });
    expect(pub.status).toBe(202);
    const anchor = await app.api('PUT', `/v1/tenants/adv-b/anchors/${mark}`, {
      event_type: REMINDER_TYPE,
      subject: mark,
      at: new Date(Date.now() - 1000).toISOString(),
      payload: { mark },
    });
    expect(anchor.status).toBe(201);
    const got = (type: string) =>
      rxB.requests.some((r) => {
        const b = JSON.parse(r.body) as { type: string; data: { mark?: string } };
        return b.type === type && b.data.mark === mark;
      });
    await until(() => got('loan.paid'), `B's event ${mark}`, 30_000);
    await until(() => got(REMINDER_TYPE), `B's reminder ${mark}`, 30_000);
  }

  beforeAll(async () => {
    sinkA = await startReceiver();
    rxB = await startReceiver();
    app = await startApp(
      engine,
      {
        TIDINGS_MAX_PAYLOAD_BYTES: '4096',
        TIDINGS_RATE_LIMIT_PER_S: '0',
        TIDINGS_REQUEST_TIMEOUT_MS: '2000',
        // Small quotas, so the runs reach them.
        TIDINGS_MAX_ENDPOINTS_PER_TENANT: '15',
        TIDINGS_MAX_REMINDER_RULES_PER_TENANT: '15',
      },
      { roles: 'api,worker,scheduler' },
    );
    await setUpCatalog(app.api);
    world = await makeTenantWorld(app.api, 'adv-a', { url: `${sinkA.url}/a` });
    await app.api('POST', '/v1/tenants', { id: 'adv-b', name: 'B' });
    expect((await app.api('POST', '/v1/tenants/adv-b/endpoints', { url: `${rxB.url}/b` })).status).toBe(201);
    // B's reminders fire at their anchor.
    expect(
      (await app.api('PUT', '/v1/tenants/adv-b/reminder-rules', { event_type: REMINDER_TYPE })).status,
    ).toBe(201);

    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const ops: Op[] = Object.entries(doc.paths)
      .filter(([path]) => path.includes('{tid}'))
      .flatMap(([path, byMethod]) =>
        Object.entries(byMethod).map(([m, op]) => ({ method: m.toUpperCase(), path, op })),
      );
    writeOps = ops.filter((o) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(o.method));
    readOps = ops.filter((o) => o.method === 'GET');
    // Tables the API alone writes while this runs (the worker records attempts with their kept
    // bodies and give-ups, and works the queue and its turn marks; its maintenance seals the
    // attempt chain and rolls up endpoint stats; the scheduler extends slots; the audit log
    // records every answer).
    tables = (
      await app.testDb.db.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
           AND table_name NOT IN ('audit_log', 'attempts', 'attempt_bodies', 'delivery_failures', 'delivery_queue',
                                  'endpoint_turns', 'reminder_slots', 'attempt_chain', 'attempt_chain_heads',
                                  'attempt_chain_state', 'attempt_chain_checkpoints', 'endpoint_stats_hourly',
                                  'endpoint_stats_watermark')
         ORDER BY 1`,
      )
    ).map((r) => r.table_name);
    await secondTenantFlows();
  });
  afterAll(async () => {
    await app?.stop();
    await sinkA?.close();
    await rxB?.close();
  });

  /** The route's valid body, pointed at the local sink instead of a public host. */
  function validBody(route: Route): unknown {
    const body = request(route).body;
    return body === undefined
      ? undefined
      : (JSON.parse(JSON.stringify(body).replaceAll('https://example.com', sinkA.url)) as unknown);
  }

  function params(route: Route): fc.Arbitrary<Record<string, string>> {
    const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const real = (name: string) => world.params[name] ?? 'x';
    const one = (name: string) =>
      name === 'tid'
        ? fc.constant(world.tid)
        : consumes(route)
          ? hostileString.filter((s) => s !== real(name))
          : fc.oneof(
              { weight: 5, arbitrary: fc.constant(real(name)) },
              { weight: 1, arbitrary: hostileString },
            );
    return fc.record(Object.fromEntries(names.map((n) => [n, one(n)]))) as fc.Arbitrary<
      Record<string, string>
    >;
  }

  function writeCase(o: Op) {
    const schema = o.op.requestBody?.content?.['application/json']?.schema;
    const valid = validBody(o);
    const base: Record<string, unknown> =
      valid && typeof valid === 'object' && !Array.isArray(valid) ? (valid as Record<string, unknown>) : {};
    const names = [...new Set([...Object.keys(schema?.properties ?? {}), ...Object.keys(base)])];
    // Numbers are what the engine computes with: they are attacked three times as often.
    const numeric = (f: string) => ['number', 'integer'].some((k) => kindsOf(schema?.properties?.[f]).has(k));
    const fields = names.flatMap((f) => (numeric(f) ? [f, f, f] : [f]));
    const mutation =
      fields.length === 0
        ? fc.constant<[string, unknown][]>([])
        : fc.array(
            fc
              .constantFrom(...fields)
              .chain((f) => extreme(schema?.properties?.[f]).map((v) => [f, v] as [string, unknown])),
            { minLength: 1, maxLength: 3 },
          );
    return fc.record({
      route: fc.constant(o),
      params: params(o),
      body: fc.oneof(
        { weight: 6, arbitrary: mutation.map((m) => bodyText({ ...base, ...Object.fromEntries(m) })) },
        { weight: 1, arbitrary: extreme(schema).map(bodyText) },
        { weight: 1, arbitrary: fc.constant(valid === undefined ? undefined : bodyText(valid)) },
      ),
      query: fc.oneof(
        fc.constant(request(o).query ?? ''),
        fc.constantFrom(...HOSTILE_TEXT, ...QUERY_TEXT).map((v) => `event_type=${encodePart(v)}`),
      ),
    });
  }

  function queryCase(o: Op) {
    const declared = (o.op.parameters ?? []).filter((p) => p.in === 'query');
    const generic = fc.oneof(
      fc.constantFrom(...QUERY_TEXT, ...HOSTILE_TEXT),
      hostileString,
      fc.integer().map(String),
      fc.double().map(String),
    );
    // Each parameter gets values aimed at what it is: cursors crafted, dates out of range.
    const valueFor = (name: string): fc.Arbitrary<string> => {
      const s = declared.find((p) => p.name === name)?.schema;
      if (name === 'cursor')
        return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...CRAFTED_CURSORS) }, generic);
      if (s?.format === 'date-time') return fc.oneof(fc.constantFrom(...BAD_DATES), generic);
      return generic;
    };
    const pair = fc
      .constantFrom(...declared.map((p) => p.name), 'cursor', 'limit', 'unknown_param')
      .chain((name) => valueFor(name).map((v) => [name, v] as const));
    return fc.record({
      route: fc.constant(o),
      params: params(o),
      query: fc
        .array(pair, { minLength: 1, maxLength: 4 })
        .map((ps) => ps.map(([k, v]) => `${k}=${encodePart(v)}`).join('&')),
    });
  }

  it(`writes extreme values into every tenant-writable field (${WRITE_RUNS} cases): no 5xx, nothing half-written`, async () => {
    const statuses = new Map<number, number>();
    const arb = fc.constantFrom(...writeOps).chain(writeCase);
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const before = await counts();
        const path = fill(c.route, c.params) + (c.query ? `?${c.query}` : '');
        const res = await app.api(c.route.method, path, undefined, {
          token: world.token,
          ...(c.body !== undefined ? { rawBody: c.body } : {}),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const what = `${c.route.method} ${path} ${String(c.body).slice(0, 300)} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
        expect(res.status, what).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.body, what).toHaveProperty('error.code');
          expect(await counts(), what).toEqual(before);
        }
      }),
      { numRuns: WRITE_RUNS },
    );
    console.log(
      `adversarial writes (${engine}): ${WRITE_RUNS} cases over ${writeOps.length} tenant write routes; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    // Whatever got stored is put through the engine: a test event to every endpoint A has.
    const mine = await app.api<{ data: { id: string; disabled: boolean }[] }>(
      'GET',
      '/v1/tenants/adv-a/endpoints?limit=250',
      undefined,
      { token: world.token },
    );
    for (const e of mine.body.data.filter((x) => !x.disabled)) {
      const t = await app.api('POST', `/v1/tenants/adv-a/endpoints/${e.id}/test`, undefined, {
        token: world.token,
      });
      expect(t.status).toBe(202);
    }
    await secondTenantFlows();
  });

  it(`sends crafted cursors and query strings to every tenant read route (${QUERY_RUNS} cases): no 5xx`, async () => {
    const statuses = new Map<number, number>();
    const arb = fc.constantFrom(...readOps).chain(queryCase);
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const path = `${fill(c.route, c.params)}?${c.query}`;
        const res = await app.api('GET', path, undefined, { token: world.token });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const what = `GET ${path.slice(0, 400)} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
        expect(res.status, what).toBeLessThan(500);
        if (res.status >= 400 && res.status !== 414) expect(res.body, what).toHaveProperty('error.code');
      }),
      { numRuns: QUERY_RUNS },
    );
    console.log(
      `adversarial queries (${engine}): ${QUERY_RUNS} cases over ${readOps.length} tenant read routes; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
    await secondTenantFlows();
  });

  it('leaves the store consistent: every endpoint has its state, quota counters match, the attacker still works', async () => {
    const orphans = await app.testDb.db.query(
      'SELECT e.id FROM endpoints e LEFT JOIN endpoint_state s ON s.endpoint_id = e.id WHERE s.endpoint_id IS NULL',
    );
    expect(orphans).toEqual([]);
    const drift = await app.testDb.db.query(
      `SELECT u.tenant_id, u.kind, u.used, c.n FROM tenant_usage u
       JOIN (SELECT tenant_id, 'reminder_rules' AS kind, count(*) AS n FROM reminder_rules GROUP BY tenant_id
             UNION ALL SELECT tenant_id, 'anchors', count(*) FROM reminder_anchors GROUP BY tenant_id) c
         ON c.tenant_id = u.tenant_id AND c.kind = u.kind
       WHERE u.used <> c.n`,
    );
    expect(drift).toEqual([]);
    const endpoints = await app.testDb.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM endpoints WHERE tenant_id = 'adv-a'`,
    );
    expect(endpoints[0]!.n).toBeLessThanOrEqual(15);
    expect((await app.api('GET', '/v1/tenants/adv-a', undefined, { token: world.token })).status).toBe(200);
    const ready = await fetch(`${app.url}/readyz`);
    await ready.arrayBuffer();
    expect(ready.status).toBe(200);
  });
});
