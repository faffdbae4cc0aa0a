// Publishing checks each event against its type's JSON Schema. Compiling a schema is far
// costlier than checking one, so compiled validators are kept per (type, updated_at); the
// type rows themselves are re-read at most every second so that a catalog change made by
// another process takes effect within that second.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import { type EventType, getEventTypes } from '../store/eventTypes.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface SchemaProblem {
  path: string;
  message: string;
}

export interface CompiledType {
  type: EventType;
  validate: ((payload: unknown) => SchemaProblem[]) | undefined;
}

export function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: true });
  addFormats(ajv);
  return ajv;
}

/** Whether a JSON Schema compiles; the message says why not. */
export function checkSchema(schema: unknown): string | undefined {
  try {
    newAjv().compile(schema as object);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export class EventTypeCache {
  private readonly compiled = new Map<string, { at: number; version: number; entry: CompiledType }>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly maxAgeMs = 1000,
  ) {}

  /** The named types that exist, compiled. */
  async get(names: string[]): Promise<Map<string, CompiledType>> {
    const now = this.clock.now().getTime();
    const out = new Map<string, CompiledType>();
    const stale: string[] = [];
    for (const n of new Set(names)) {
      const c = this.compiled.get(n);
      if (c && now - c.at < this.maxAgeMs) out.set(n, c.entry);
      else stale.push(n);
    }
    if (stale.length > 0) {
      for (const t of await getEventTypes(this.db, stale)) {
        const version = t.updated_at.getTime();
        const prev = this.compiled.get(t.name);
        const entry = prev && prev.version === version ? prev.entry : this.compile(t);
        this.compiled.set(t.name, { at: now, version, entry });
        out.set(t.name, entry);
      }
    }
    return out;
  }

  invalidate(name?: string): void {
    if (name) this.compiled.delete(name);
    else this.compiled.clear();
  }

  private compile(type: EventType): CompiledType {
    if (!type.schema) return { type, validate: undefined };
    let fn: ValidateFunction;
    try {
      // A fresh Ajv per schema: two versions of one type may carry the same $id.
      fn = newAjv().compile(type.schema);
    } catch {
      // Schemas are checked when they are written; one that still fails (an older ajv) checks nothing.
      return { type, validate: undefined };
    }
    return {
      type,
      validate: (payload) => (fn(payload) ? [] : (fn.errors ?? []).map(problem)),
    };
  }
}

function problem(e: ErrorObject): SchemaProblem {
  const extra =
    e.keyword === 'required'
      ? `/${(e.params as { missingProperty: string }).missingProperty}`
      : e.keyword === 'additionalProperties'
        ? `/${(e.params as { additionalProperty: string }).additionalProperty}`
        : '';
  return { path: `${e.instancePath}${extra}` || '/', message: e.message ?? e.keyword };
}
