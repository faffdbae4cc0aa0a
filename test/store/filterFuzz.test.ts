// Payload filters fuzzed: random filters (valid and not) and random payloads, from a seed.
// The compiler never throws (a bad filter is a refusal), the publish statement never fails
// whatever the payload, and the deliveries it creates are exactly those a reference
// evaluation of the documented semantics (docs/filters.md) says, written independently here.
// The portal's "test against a sample" (store/filters.ts) agrees with the fan-out too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/api/payloadFilter.js';
import { createEndpoint } from '../../src/store/endpoints.js';
import type { PublishInput } from '../../src/store/events.js';
import { upsertEventType } from '../../src/store/eventTypes.js';
import { filterMatches } from '../../src/store/filters.js';
import { publishEvents } from '../../src/store/publish.js';
import { plainCodec } from '../../src/store/secrets.js';
import { createTenant } from '../../src/store/tenants.js';
import { engines, freshDb, type TestDb } from '../helpers/engines.js';

const SEED = Number(process.env.FILTER_FUZZ_SEED ?? 1515);
const ENDPOINTS = 60;
const EVENTS = 80;

/** mulberry32: small, seeded, good enough to spread cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const KEYS = ['a', 'b', 'c', '0', '1'];
const STRINGS = ['', 'a', 'b', 'B', 'ab', 'é', 'z"q', 'line\nbreak'];

function generators(rnd: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const scalar = (): Json => {
    switch (int(0, 5)) {
      case 0:
        return int(-3, 3);
      case 1:
        return int(-30, 30) / 10;
      case 2:
        return pick(STRINGS);
      case 3:
        return rnd() < 0.5;
      case 4:
        return null;
      default:
        return String(int(-3, 3));
    }
  };
  const value = (depth: number): Json => {
    const r = rnd();
    if (depth >= 3 || r < 0.5) return scalar();
    if (r < 0.75) return Array.from({ length: int(0, 3) }, () => value(depth + 1));
    return object(depth + 1);
  };
  const object = (depth: number): { [k: string]: Json } => {
    const o: { [k: string]: Json } = {};
    for (let i = int(0, 4); i > 0; i -= 1) o[pick(KEYS)] = value(depth);
    return o;
  };
  const path = () => Array.from({ length: int(1, 3) }, () => pick(KEYS)).join('.');
  const operand = (): unknown => (rnd() < 0.05 ? { x: 1 } : scalar());
  const fieldOps = (depth: number): Record<string, unknown> => {
    const ops: Record<string, unknown> = {};
    for (let i = int(1, 2); i > 0; i -= 1) {
      const op = pick([
        '$eq',
        '$neq',
        '$in',
        '$nin',
        '$gt',
        '$gte',
        '$lt',
        '$lte',
        '$exists',
        '$not',
        '$regex',
      ]);
      if (op === '$in' || op === '$nin') ops[op] = Array.from({ length: int(0, 3) }, scalar);
      else if (op === '$exists') ops[op] = rnd() < 0.9 ? rnd() < 0.5 : 'yes';
      else if (op === '$not') ops[op] = depth < 2 ? fieldOps(depth + 1) : { $exists: true };
      else if (op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte')
        ops[op] = rnd() < 0.5 ? int(-3, 3) : pick(STRINGS);
      else ops[op] = operand();
    }
    return ops;
  };
  const filter = (depth: number): Record<string, unknown> => {
    const f: Record<string, unknown> = {};
    for (let i = int(1, 3); i > 0; i -= 1) {
      const r = rnd();
      if (depth < 2 && r < 0.1)
        f.$and = Array.from({ length: int(rnd() < 0.05 ? 0 : 1, 3) }, () => filter(depth + 1));
      else if (depth < 2 && r < 0.2) f.$or = Array.from({ length: int(1, 3) }, () => filter(depth + 1));
      else if (depth < 2 && r < 0.25) f.$not = filter(depth + 1);
      else if (r < 0.45) f[path()] = scalar();
      else if (r < 0.5) f[pick(KEYS)] = { [pick(KEYS)]: scalar() };
      else f[path()] = fieldOps(depth);
    }
    return f;
  };
  return { object, filter };
}

// The reference: the documented semantics, on parsed JSON.

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The values a dotted path reaches: a member of each element of a list, digits index a list. */
function reach(doc: unknown, path: string): unknown[] {
  let cur: unknown[] = [doc];
  for (const seg of path.split('.')) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (/^\d+$/.test(seg)) {
        const n = Number(seg);
        if (Array.isArray(v)) {
          if (n < v.length) next.push(v[n]);
        } else if (n === 0) next.push(v); // a value that is not a list is a list of one
      } else if (Array.isArray(v)) {
        for (const e of v) if (isObject(e) && Object.hasOwn(e, seg)) next.push(e[seg]);
      } else if (isObject(v) && Object.hasOwn(v, seg)) next.push(v[seg]);
    }
    cur = next;
  }
  return cur;
}

/** What comparisons look at: the values, a list's elements in place of the list. */
const items = (vals: unknown[]) => vals.flatMap((v) => (Array.isArray(v) ? v : [v]));

function codePointCompare(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function anyEqual(vals: unknown[], values: unknown[]): boolean {
  return values.some((x) =>
    x === null
      ? vals.length === 0 || items(vals).some((i) => i === null)
      : items(vals).some((i) => typeof i === typeof x && i === x),
  );
}

function order(vals: unknown[], op: string, x: number | string): boolean {
  return items(vals).some((i) => {
    if (typeof i !== typeof x) return false;
    const c = typeof x === 'number' ? (i as number) - x : codePointCompare(i as string, x);
    return op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0;
  });
}

function fieldMatch(doc: unknown, path: string, ops: Record<string, unknown>): boolean {
  const vals = reach(doc, path);
  return Object.entries(ops).every(([op, v]) => {
    switch (op) {
      case '$eq':
        return anyEqual(vals, [v]);
      case '$neq':
        return !anyEqual(vals, [v]);
      case '$in':
        return anyEqual(vals, v as unknown[]);
      case '$nin':
        return !anyEqual(vals, v as unknown[]);
      case '$exists':
        return vals.length > 0 === v;
      case '$not':
        return !fieldMatch(doc, path, v as Record<string, unknown>);
      default:
        return order(vals, op, v as number | string);
    }
  });
}

function reference(doc: unknown, filter: Record<string, unknown>, prefix = ''): boolean {
  return Object.entries(filter).every(([k, v]) => {
    if (k === '$and') return (v as Record<string, unknown>[]).every((f) => reference(doc, f));
    if (k === '$or') return (v as Record<string, unknown>[]).some((f) => reference(doc, f));
    if (k === '$not') return !reference(doc, v as Record<string, unknown>);
    const path = prefix ? `${prefix}.${k}` : k;
    if (isObject(v)) {
      return Object.keys(v)[0]!.startsWith('$') ? fieldMatch(doc, path, v) : reference(doc, v, path);
    }
    return anyEqual(reach(doc, path), [v]);
  });
}

describe.each(engines())(`payload filters, fuzzed with seed ${SEED} (%s)`, (engine) => {
  const now = new Date('2026-05-01T00:00:00Z');
  const { object, filter } = generators(prng(SEED));
  let t: TestDb;
  const filters = new Map<string, { doc: Record<string, unknown>; path: string }>();
  let refused = 0;

  beforeAll(async () => {
    t = await freshDb(engine);
    await upsertEventType(t.db, { name: 'fuzz.event', default_enabled: true }, now);
    await createTenant(t.db, { id: 'fz', name: 'Fuzz' }, now);
    while (filters.size < ENDPOINTS) {
      const doc = filter(0);
      const compiled = compileFilter(doc); // never throws: a refusal is a value
      if (!compiled.ok) {
        expect(compiled.message).not.toBe('');
        refused += 1;
        continue;
      }
      if (compiled.path === null) continue;
      const id = `ep_${filters.size}`;
      filters.set(id, { doc, path: compiled.path });
      await createEndpoint(
        t.db,
        plainCodec,
        id,
        'fz',
        { url: 'https://example.com', secret: 'whsec_x', filter: { doc, path: compiled.path } },
        now,
      );
    }
  });
  afterAll(() => t?.drop());

  it('publishes every random payload and fans out exactly where the reference says', async () => {
    expect(refused).toBeGreaterThan(0); // the generator makes bad filters too
    const payloads = Array.from(
      { length: EVENTS },
      (_, i) => (i % 10 === 9 ? [object(0)] : object(0)) as Json,
    );
    const inputs: PublishInput[] = payloads.map((p, i) => ({
      tenantId: 'fz',
      id: `evt_${i}`,
      type: 'fuzz.event',
      payloadJson: JSON.stringify(p),
      channels: [],
      orderingKey: null,
      idempotencyKey: null,
      requestHash: `h${i}`,
      source: 'api',
      createdAt: now,
    }));
    for (let i = 0; i < inputs.length; i += 20) {
      const { outcomes } = await t.db.tx((q) => publishEvents(q, inputs.slice(i, i + 20)));
      expect(outcomes.every((o) => o.kind === 'created')).toBe(true);
    }
    const got = await t.db.query<{ pair: string }>(
      `SELECT ev.id || ' ' || d.endpoint_id AS pair FROM deliveries d JOIN events ev ON ev.seq = d.event_seq`,
    );
    const expected: string[] = [];
    payloads.forEach((p, i) => {
      for (const [id, f] of filters) if (reference(p, f.doc)) expected.push(`evt_${i} ${id}`);
    });
    // Not a trivial agreement: some pairs match, most do not.
    expect(expected.length).toBeGreaterThan(20);
    expect(expected.length).toBeLessThan(payloads.length * filters.size - 20);
    expect(got.map((r) => r.pair).sort()).toEqual(expected.sort());
  });

  it('the sample test of the portal agrees with the fan-out', async () => {
    const { object: sample } = generators(prng(SEED + 1));
    let checked = 0;
    for (const [, f] of [...filters].slice(0, 20)) {
      for (let i = 0; i < 5; i += 1) {
        const p = sample(0);
        expect(await filterMatches(t.db, f.path, JSON.stringify(p))).toBe(reference(p, f.doc));
        checked += 1;
      }
    }
    expect(checked).toBe(100);
  });
});
