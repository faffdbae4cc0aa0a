// Personal data in payloads: an event type may name JSON pointers (`redact` in the catalog,
// e.g. ["/ssn", "/bank_account/number", "/customers/*/ssn"]; `*` is every element) whose values tenants see as "[redacted]" — in the
// portal and in reads with a tenant token (events, the body an attempt sent). The operator
// token sees them: the operator published them and answers disputes with them. The wire body
// is never touched, and Tidings never logs payloads or bodies.

export const REDACTED = '[redacted]';

/** RFC 6901: "/a~1b/0" → ["a/b", "0"]. */
function tokens(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** A pointer below the payload's root (the whole payload is not a field to redact). */
export const REDACT_POINTER = '^(/([^~/]|~[01])*)+$';

// Replaces the value at `path` below `node` where it exists; a `*` token stands for every
// element of an array or member of an object (Canopy's `customers` is a list: /customers/*/ssn).
function redactAt(node: unknown, path: string[], i: number): boolean {
  if (node === null || typeof node !== 'object') return false;
  const key = path[i]!;
  const last = i === path.length - 1;
  const container = node as Record<string, unknown>;
  let keys: string[];
  if (key === '*') keys = Object.keys(container);
  else if (Array.isArray(node))
    keys = /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < node.length ? [key] : [];
  else keys = Object.hasOwn(container, key) ? [key] : [];
  let changed = false;
  for (const k of keys) {
    if (last) {
      container[k] = REDACTED;
      changed = true;
    } else if (redactAt(container[k], path, i + 1)) {
      changed = true;
    }
  }
  return changed;
}

/** Replaces the value at each pointer that exists; returns whether anything was replaced. */
function redactValue(root: unknown, pointers: string[]): boolean {
  let changed = false;
  for (const pointer of pointers) {
    const path = tokens(pointer);
    if (path && path.length > 0 && redactAt(root, path, 0)) changed = true;
  }
  return changed;
}

/** A payload value (parsed) with its personal data redacted; the input is not modified. */
export function redactPayload(payload: unknown, pointers: readonly string[] | null | undefined): unknown {
  if (!pointers || pointers.length === 0 || payload === null || typeof payload !== 'object') return payload;
  const copy = structuredClone(payload);
  return redactValue(copy, [...pointers]) ? copy : payload;
}

/**
 * A JSON text (a payload, or a request body with the payload at `payloadAt`, or at each of
 * several places) with its personal data redacted. The text is returned as it was when nothing is redacted; otherwise
 * it is re-serialised (compact), which is for the eyes only: the exact bytes sent are in the
 * attempt's body_sha256.
 */
export function redactJsonText(
  text: string,
  pointers: readonly string[] | null | undefined,
  payloadAt: string | readonly string[] = '',
): string {
  if (!pointers || pointers.length === 0) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  const prefixed = (typeof payloadAt === 'string' ? [payloadAt] : payloadAt).flatMap((at) =>
    pointers.map((p) => at + p),
  );
  return redactValue(value, prefixed) ? JSON.stringify(value) : text;
}
