// Change sets in Canopy's shape: which fields of an object changed, as dotted paths with the
// previous and the new value. A producer that cannot compute them publishes the previous
// object beside the new one and Tidings lists the differences.
import { objectMembers } from '../json/scan.js';

export interface Change {
  field_name: string;
  previous_value: unknown;
  new_value: unknown;
}

type Plain = Record<string, unknown>;

function isPlainObject(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}

// Leaves by dotted path, in the object's own order (depth first). Arrays and scalars are
// leaves; an empty object has no leaves, since a dotted path cannot name it.
function leaves(obj: Plain, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v)) leaves(v, path, out);
    else out.set(path, v);
  }
  return out;
}

/**
 * The fields that differ between two objects: nested objects become dotted paths, arrays
 * are compared as whole values, a field present on one side only shows null on the other,
 * and a change from null to absent (or back) is no change. Order: the current object's
 * fields, then the removed ones in the previous object's order.
 */
export function computeChanges(previous: unknown, current: unknown): Change[] {
  if (!isPlainObject(previous) || !isPlainObject(current)) {
    throw new TypeError('computeChanges: previous and current must both be JSON objects');
  }
  const before = leaves(previous, '', new Map());
  const after = leaves(current, '', new Map());
  const changes: Change[] = [];
  const add = (field_name: string, previous_value: unknown, new_value: unknown) => {
    if (!deepEqual(previous_value, new_value)) changes.push({ field_name, previous_value, new_value });
  };
  for (const [path, value] of after) add(path, before.has(path) ? before.get(path) : null, value);
  for (const [path, value] of before) if (!after.has(path)) add(path, value, null);
  return changes;
}

export type ChangeSetResult =
  | { ok: true; payloadJson: string; changes: Change[] }
  | { ok: false; error: string };

/**
 * Adds `changed_at` and `changes` to a published payload, given the previous version.
 * When the payload has an `object` member that is an object (Canopy's
 * `{"object_type", "object"}`), `previous` is the previous version of that object;
 * otherwise of the whole payload. The two members are spliced in at the front of the
 * payload's text, which is otherwise left exactly as written; a `changed_at` the producer
 * gave is kept.
 */
export function attachChanges(payloadJson: string, previous: unknown, changedAt: Date): ChangeSetResult {
  const members = objectMembers(payloadJson);
  if (!members) return { ok: false, error: 'payload must be a JSON object to carry changes' };
  if (!isPlainObject(previous)) return { ok: false, error: 'previous must be a JSON object' };
  if (members.some((m) => m.key === 'changes')) {
    return { ok: false, error: 'payload already has "changes"; give either changes or previous, not both' };
  }
  const payload = JSON.parse(payloadJson) as Plain;
  let current: Plain;
  let before: Plain = previous;
  if (isPlainObject(payload['object'])) current = payload['object'];
  else {
    // changed_at says when, not what: it is no field of the object.
    const { changed_at: _now, ...rest } = payload;
    const { changed_at: _then, ...restBefore } = previous;
    current = rest;
    before = restBefore;
  }
  const changes = computeChanges(before, current);
  let inserted = '';
  if (!members.some((m) => m.key === 'changed_at')) {
    inserted += `"changed_at":${JSON.stringify(changedAt.toISOString())},`;
  }
  inserted += `"changes":${JSON.stringify(changes)}`;
  const brace = payloadJson.indexOf('{');
  const text =
    payloadJson.slice(0, brace + 1) +
    inserted +
    (members.length > 0 ? ',' : '') +
    payloadJson.slice(brace + 1);
  return { ok: true, payloadJson: text, changes };
}
