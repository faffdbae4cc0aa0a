// Filters shared by the lists and the replay. Event types: exact names, or "topic.*" for
// every type that starts with "topic.", one or several (a repeated query parameter).
import { Type } from 'typebox';

const TypeName = Type.String({
  minLength: 1,
  maxLength: 130,
  pattern: '^[^*]*\\*?$',
  description: 'An event type, or a prefix ending in * (bill_payments.*)',
});

/** In a query string: `type=a&type=b.*` (one value is a list of one). */
export const TypeQuery = Type.Array(TypeName, {
  maxItems: 50,
  description: 'Event types; repeat for several, "topic.*" for a prefix',
});

/** In a body: one name or pattern, or a list of them. */
export const TypeList = Type.Union([TypeName, Type.Array(TypeName, { minItems: 1, maxItems: 50 })], {
  description: 'Event types: a name, "topic.*" for a prefix, or a list of them',
});

/** The filter as a list; a lone "*" (any type) is no filter at all. */
export function typeList(v: string | string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  return list.includes('*') ? undefined : list;
}

/** `status=410` or `status=5xx`. */
export const StatusQuery = Type.String({
  pattern: '^[1-5]([0-9]{2}|xx)$',
  description: 'An HTTP status (410) or a class of them (5xx)',
});

/** The statuses a StatusQuery names, [low, high] inclusive. */
export function statusRange(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  if (v.endsWith('xx')) {
    const c = Number(v[0]) * 100;
    return [c, c + 99];
  }
  return [Number(v), Number(v)];
}
