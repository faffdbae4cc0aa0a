// The payload `tidings trigger` publishes for an event type: the catalog's first example when
// it has one, else the smallest value its JSON Schema accepts as far as this can tell (required
// properties only, each its const, enum, default or example, or a plain value of its type),
// else {}. The API still validates it against the schema: a schema this cannot satisfy (a
// pattern, a $ref) answers 422, and the caller passes its own payload.

type Schema = Record<string, unknown>;

export interface ChosenPayload {
  payload: unknown;
  source: 'example' | 'schema' | 'empty';
}

export function triggerPayload(type: {
  schema?: unknown;
  examples?: unknown;
  example?: unknown;
}): ChosenPayload {
  const examples = Array.isArray(type.examples)
    ? type.examples
    : type.example !== undefined
      ? [type.example]
      : [];
  if (examples.length > 0) return { payload: unwrapExample(examples[0]), source: 'example' };
  if (type.schema && typeof type.schema === 'object') {
    return { payload: minimalOf(type.schema as Schema, 0), source: 'schema' };
  }
  return { payload: {}, source: 'empty' };
}

/** An example given as {payload, name/summary/description} is its payload. */
function unwrapExample(e: unknown): unknown {
  if (e && typeof e === 'object' && !Array.isArray(e) && 'payload' in e) {
    const keys = Object.keys(e);
    if (keys.every((k) => ['payload', 'name', 'summary', 'description', 'title'].includes(k))) {
      return (e as { payload: unknown }).payload;
    }
  }
  return e;
}

const MAX_DEPTH = 16;

export function minimalOf(s: Schema, depth: number): unknown {
  if (depth > MAX_DEPTH) return null;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ('default' in s) return s.default;
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  for (const k of ['oneOf', 'anyOf'] as const) {
    const options = s[k];
    if (Array.isArray(options) && options.length > 0) return minimalOf(options[0] as Schema, depth + 1);
  }
  if (Array.isArray(s.allOf)) {
    const parts = s.allOf.map((p) => minimalOf(p as Schema, depth + 1));
    if (parts.every((p) => p && typeof p === 'object' && !Array.isArray(p)))
      return Object.assign({}, ...parts);
  }
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  const type = types.find((t) => t !== 'null') ?? types[0] ?? (s.properties ? 'object' : undefined);
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const name of Array.isArray(s.required) ? (s.required as string[]) : []) {
        out[name] = props[name] ? minimalOf(props[name], depth + 1) : null;
      }
      return out;
    }
    case 'array': {
      const n = typeof s.minItems === 'number' ? s.minItems : 0;
      const item = (s.items ?? {}) as Schema;
      return Array.from({ length: n }, () => minimalOf(item, depth + 1));
    }
    case 'string':
      return stringFor(s);
    case 'integer':
    case 'number': {
      const min =
        typeof s.minimum === 'number'
          ? s.minimum
          : typeof s.exclusiveMinimum === 'number'
            ? s.exclusiveMinimum + 1
            : 0;
      const step = typeof s.multipleOf === 'number' && s.multipleOf > 0 ? s.multipleOf : 1;
      const n = Math.ceil(min / step) * step;
      return type === 'integer' ? Math.ceil(n) : n;
    }
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return {};
  }
}

function stringFor(s: Schema): string {
  switch (s.format) {
    case 'date-time':
      return new Date().toISOString();
    case 'date':
      return new Date().toISOString().slice(0, 10);
    case 'email':
      return 'developer@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
  }
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Number.POSITIVE_INFINITY;
  return 'example'.padEnd(min, 'x').slice(0, Math.max(min, max));
}
