// Publishing checks each event against its type's JSON Schema. Compiling a schema is far
// costlier than checking one, so compiled validators are kept per (type, updated_at); the
// type rows themselves are re-read at most every second so that a catalog change made by
// another process takes effect within that second.
import {
  compilePayloadSchema,
  payloadSchemaProblem,
  type SchemaProblem,
  schemaProblem,
} from '../catalog/payloadSchema.js';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import { type EventType, getEventTypes } from '../store/eventTypes.js';

export type { SchemaProblem };

export interface CompiledType {
  type: EventType;
  validate: ((payload: unknown) => SchemaProblem[]) | undefined;
}

/** Whether a JSON Schema compiles as a payload schema (see catalog/payloadSchema.ts); the message says why not. */
export function checkSchema(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return 'a schema is a JSON object';
  return payloadSchemaProblem(schema as Record<string, unknown>);
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
    const compiled = compilePayloadSchema(type.schema);
    // Schemas are checked with the same factory when they are written; one that still fails
    // (written by an older version) checks nothing rather than blocking every publish.
    if (!compiled.ok) return { type, validate: undefined };
    const fn = compiled.validate;
    return {
      type,
      validate: (payload) => (fn(payload) ? [] : (fn.errors ?? []).map(schemaProblem)),
    };
  }
}
