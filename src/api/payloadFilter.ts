// Payload filters on endpoints: MongoDB-style operators, as Convoy's users write them, compiled
// once (when the endpoint is written) into an SQL/JSON path predicate that the publish
// statement evaluates inside its fan-out with jsonb_path_match (store/publish.ts). Nothing is
// interpreted per event in JavaScript, the publish stays one statement, and the portal's
// "test against a sample" asks PostgreSQL too (store/filters.ts), so both agree by construction.
//
// Why compile rather than a matcher library (sift): a matcher needs each payload in
// JavaScript at fan-out, which would split the one-statement publish into read, match and
// write, and cost a parse per event and endpoint in the API process.
//
// Semantics (the same as MongoDB's for these operators; docs/filters.md):
// - a field path is dotted ("customer.address.country"); an all-digit segment is an array
//   index ("lines.0.amount"); a path that crosses an array looks at every element, and a
//   comparison matches when ANY element matches ("lines.amount": {"$gt": 100});
// - a comparison between different JSON types is false, never an error ("$gt": 5 does not
//   match "7"); so $neq / $nin are true for a field of another type or a missing field;
// - {"$eq": null} matches a null or missing field; {"$exists": true} a present one, null too;
// - several fields, or several operators on one field, must all match; a nested object
//   without operators is a path prefix ({"customer": {"country": "FR"}} is "customer.country").
//
// Every leaf compiles to exists(PATH ? (@.type() != "array" && @ OP VALUE)): inside a filter a
// comparison that is "unknown" (different types) just selects nothing, so the whole predicate
// is always true or false, never NULL, whatever the payload. (The type test keeps lists nested
// in lists out, as MongoDB does; the fuzz test found that lax mode looks into them.)

export type FilterDoc = Record<string, unknown>;

export type CompiledFilter = { ok: true; path: string | null } | { ok: false; message: string; path: string };

/** Largest filter accepted, as JSON text. */
export const MAX_FILTER_BYTES = 8192;
const MAX_DEPTH = 16;
const MAX_PATH_SEGMENTS = 32;
const MAX_SEGMENT_LENGTH = 256;
const MAX_IN_VALUES = 256;

const COMPARISONS: Record<string, string> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };
const FIELD_OPERATORS = [
  '$eq',
  '$neq',
  '$ne',
  '$in',
  '$nin',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$exists',
  '$not',
];
const TOP_OPERATORS = ['$and', '$or', '$not'];

/** Always true / always false, as predicates ($ always exists). */
const TRUE = 'exists($)';
const FALSE = '!exists($)';

class FilterError extends Error {
  constructor(
    message: string,
    readonly at: string,
  ) {
    super(message);
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

type Scalar = string | number | boolean | null;
const isScalar = (v: unknown): v is Scalar =>
  v === null ||
  typeof v === 'string' ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v));

/** A JSON scalar as an SQL/JSON path literal (the JSON spelling is the path spelling). */
function literal(v: Scalar): string {
  return JSON.stringify(v);
}

function pathOf(field: string, at: string): string {
  const segments = field.split('.');
  if (segments.length > MAX_PATH_SEGMENTS) {
    throw new FilterError(`the path "${field}" has more than ${MAX_PATH_SEGMENTS} segments`, at);
  }
  let out = '$';
  for (const s of segments) {
    if (s === '') throw new FilterError(`"${field}" is not a field path (an empty segment)`, at);
    if (s.length > MAX_SEGMENT_LENGTH)
      throw new FilterError(`a segment of "${field.slice(0, 50)}…" is too long`, at);
    if (s.startsWith('$')) throw new FilterError(`unknown operator "${s}"`, at);
    out += /^(0|[1-9][0-9]{0,8})$/.test(s) ? `[${s}]` : `.${JSON.stringify(s)}`;
  }
  return out;
}

/**
 * Whether any value at the path (a list's elements in place of the list) satisfies the
 * comparison. A list inside a list is not looked into (as in MongoDB): lax mode would unwrap
 * the operand of a comparison once more, so such elements are set aside by their type.
 */
function leaf(path: string, comparison: string): string {
  return `exists(${path} ? (@.type() != "array" && (${comparison})))`;
}

function equals(path: string, values: Scalar[]): string {
  const parts: string[] = [];
  const present = values.filter((v) => v !== null);
  if (present.length > 0) parts.push(leaf(path, present.map((v) => `@ == ${literal(v)}`).join(' || ')));
  // MongoDB: null matches a null field and a missing one.
  if (present.length < values.length) parts.push(`!exists(${path})`, leaf(path, '@ == null'));
  if (parts.length === 0) return FALSE;
  return parts.length === 1 ? parts[0]! : `(${parts.join(' || ')})`;
}

function scalarOperand(op: string, v: unknown, at: string): Scalar {
  if (!isScalar(v)) {
    throw new FilterError(`${op} takes a string, number, boolean or null (use $in for a set of values)`, at);
  }
  return v;
}

function scalarList(op: string, v: unknown, at: string): Scalar[] {
  if (!Array.isArray(v)) throw new FilterError(`${op} takes an array of values`, at);
  if (v.length > MAX_IN_VALUES) throw new FilterError(`${op} takes at most ${MAX_IN_VALUES} values`, at);
  return v.map((x) => scalarOperand(op, x, at));
}

function and(parts: string[]): string {
  if (parts.length === 0) return TRUE;
  return parts.length === 1 ? parts[0]! : `(${parts.join(' && ')})`;
}

/** The operators on one field: {"$gte": 1, "$lt": 9}. */
function fieldOperators(field: string, ops: Record<string, unknown>, at: string, depth: number): string {
  const path = pathOf(field, at);
  const parts: string[] = [];
  for (const [op, v] of Object.entries(ops)) {
    const here = `${at}.${op}`;
    if (!FIELD_OPERATORS.includes(op)) throw new FilterError(`unknown operator "${op}"`, here);
    if (op === '$eq') parts.push(equals(path, [scalarOperand(op, v, here)]));
    else if (op === '$neq' || op === '$ne')
      parts.push(`!${wrap(equals(path, [scalarOperand(op, v, here)]))}`);
    else if (op === '$in') parts.push(equals(path, scalarList(op, v, here)));
    else if (op === '$nin') parts.push(`!${wrap(equals(path, scalarList(op, v, here)))}`);
    else if (op === '$exists') {
      if (typeof v !== 'boolean') throw new FilterError('$exists takes true or false', here);
      parts.push(v ? `exists(${path})` : `!exists(${path})`);
    } else if (op === '$not') {
      if (
        !isPlainObject(v) ||
        Object.keys(v).length === 0 ||
        !Object.keys(v).every((k) => k.startsWith('$'))
      ) {
        throw new FilterError(
          '$not on a field takes an object of operators, e.g. {"$not": {"$gt": 5}}',
          here,
        );
      }
      if (depth >= MAX_DEPTH) throw new FilterError(`nested more than ${MAX_DEPTH} levels deep`, here);
      parts.push(`!${wrap(fieldOperators(field, v, here, depth + 1))}`);
    } else {
      const v2 = scalarOperand(op, v, here);
      if (typeof v2 !== 'number' && typeof v2 !== 'string') {
        throw new FilterError(`${op} compares with a number or a string`, here);
      }
      parts.push(leaf(path, `@ ${COMPARISONS[op]} ${literal(v2)}`));
    }
  }
  return and(parts);
}

/** `!` applies to a parenthesised predicate or exists(…). */
function wrap(p: string): string {
  return p.startsWith('(') || p.startsWith('exists(') ? p : `(${p})`;
}

function filterObject(doc: unknown, prefix: string, at: string, depth: number): string {
  if (!isPlainObject(doc)) throw new FilterError('a filter is a JSON object', at);
  if (depth > MAX_DEPTH) throw new FilterError(`nested more than ${MAX_DEPTH} levels deep`, at);
  const parts: string[] = [];
  for (const [key, v] of Object.entries(doc)) {
    const here = at ? `${at}.${key}` : key;
    if (key.startsWith('$')) {
      if (prefix !== '' || !TOP_OPERATORS.includes(key))
        throw new FilterError(`unknown operator "${key}"`, here);
      if (key === '$not') {
        parts.push(`!${wrap(filterObject(v, '', here, depth + 1))}`);
        continue;
      }
      if (!Array.isArray(v) || v.length === 0) {
        throw new FilterError(`${key} takes a non-empty array of filters`, here);
      }
      const subs = v.map((f, i) => filterObject(f, '', `${here}[${i}]`, depth + 1));
      parts.push(subs.length === 1 ? subs[0]! : `(${subs.join(key === '$and' ? ' && ' : ' || ')})`);
      continue;
    }
    const field = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(v)) {
      const keys = Object.keys(v);
      const ops = keys.filter((k) => k.startsWith('$'));
      if (ops.length > 0 && ops.length < keys.length) {
        throw new FilterError('an object mixes operators and field names', here);
      }
      if (ops.length > 0) {
        parts.push(fieldOperators(field, v, here, depth + 1));
        continue;
      }
      if (keys.length === 0) throw new FilterError('an empty object compares with nothing', here);
      // Convoy's reading: a nested object is a path prefix.
      parts.push(filterObject(v, field, here, depth + 1));
      continue;
    }
    if (Array.isArray(v)) {
      throw new FilterError('comparing with an array is not supported; use {"$in": [...]}', here);
    }
    parts.push(equals(pathOf(field, here), [scalarOperand('$eq', v, here)]));
  }
  return and(parts);
}

/**
 * Checks and compiles a filter. `null`, absent or `{}`: no filter. A refusal names where the
 * problem is (`amount.$regex`, `$or[1].currency`).
 */
export function compileFilter(doc: unknown): CompiledFilter {
  if (doc === null || doc === undefined) return { ok: true, path: null };
  if (!isPlainObject(doc)) return { ok: false, message: 'a filter is a JSON object', path: '(root)' };
  if (Object.keys(doc).length === 0) return { ok: true, path: null };
  if (JSON.stringify(doc).length > MAX_FILTER_BYTES) {
    return { ok: false, message: `a filter is at most ${MAX_FILTER_BYTES} bytes of JSON`, path: '(root)' };
  }
  try {
    return { ok: true, path: filterObject(doc, '', '', 0) };
  } catch (err) {
    if (err instanceof FilterError) return { ok: false, message: err.message, path: err.at || '(root)' };
    throw err;
  }
}
