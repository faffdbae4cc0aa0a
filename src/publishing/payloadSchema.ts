// Payload schemas: the JSON Schema an event type carries and every publish of that type must
// satisfy. One factory serves every place that compiles them (catalog files, PUT
// /v1/event-types, ingest), so a schema accepted when the catalog is written is exactly the
// schema enforced when events are published.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/**
 * JSON Schema 2020-12 with formats, strict about unknown keywords and formats, so a misspelt
 * "requried" is refused when the type is written rather than silently leaving the payload
 * open.
 */
export function createPayloadAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    // `required` may name a property described elsewhere (in an anyOf branch) or nowhere.
    strictRequired: false,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  return ajv;
}

export type CompiledPayloadSchema = { ok: true; validate: ValidateFunction } | { ok: false; error: string };

/** Compiles one payload schema; a fresh Ajv each time, since two schemas may carry the same $id. */
export function compilePayloadSchema(schema: Record<string, unknown>): CompiledPayloadSchema {
  try {
    return { ok: true, validate: createPayloadAjv().compile(schema) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Why a payload schema cannot be used, or undefined when it can. */
export function payloadSchemaProblem(schema: Record<string, unknown>): string | undefined {
  const compiled = compilePayloadSchema(schema);
  return compiled.ok ? undefined : compiled.error;
}

export interface SchemaProblem {
  /** JSON Pointer into the payload; a missing or unknown member is named in it. */
  path: string;
  message: string;
}

export function schemaProblem(e: ErrorObject): SchemaProblem {
  const extra =
    e.keyword === 'required'
      ? `/${(e.params as { missingProperty: string }).missingProperty}`
      : e.keyword === 'additionalProperties'
        ? `/${(e.params as { additionalProperty: string }).additionalProperty}`
        : '';
  return { path: `${e.instancePath}${extra}` || '/', message: e.message ?? e.keyword };
}

/** The first example that does not satisfy the schema, and why; undefined when all do. */
export function examplesProblem(
  schema: Record<string, unknown> | null | undefined,
  examples: unknown[],
): string | undefined {
  if (!schema || examples.length === 0) return undefined;
  const compiled = compilePayloadSchema(schema);
  if (!compiled.ok) return undefined;
  for (const [i, example] of examples.entries()) {
    if (!compiled.validate(example)) {
      const p = schemaProblem(compiled.validate.errors![0]!);
      return `examples[${i}] does not satisfy the schema: ${p.path} ${p.message}`;
    }
  }
  return undefined;
}
