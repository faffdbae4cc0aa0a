// Publishing checks each event against its type's JSON Schema. Compiling a schema is far
// costlier than checking one, so compiled validators are kept per (type, updated_at); the
// type rows themselves are re-read at most every second so that a catalog change made by
// another process takes effect within that second. The re-read is single-flight: publishes
// that find a type stale at the same moment wait for one query, not one each.

import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import { type EventType, getEventTypes } from '../store/eventTypes.js';
import {
  compilePayloadSchema,
  payloadSchemaProblem,
  type SchemaProblem,
  schemaProblem,
} from './payloadSchema.js';

export type { SchemaProblem };

export interface CompiledType {
  type: EventType;
  validate: ((payload: unknown) => SchemaProblem[]) | undefined;
}

/** Whether a JSON Schema compiles as a payload schema (see publishing/payloadSchema.ts); the message says why not. */
export function checkSchema(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return 'a schema is a JSON object';
  return payloadSchemaProblem(schema as Record<string, unknown>);
}

export class EventTypeCache {
  private readonly compiled = new Map<string, { at: number; version: number; entry: CompiledType }>();
  /** Re-reads in progress, by type name. */
  private readonly reading = new Map<string, Promise<void>>();

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
      const unread = stale.filter((n) => !this.reading.has(n));
      if (unread.length > 0) {
        const read = this.read(unread, now).finally(() => {
          for (const n of unread) if (this.reading.get(n) === read) this.reading.delete(n);
        });
        for (const n of unread) this.reading.set(n, read);
      }
      await Promise.all(stale.map((n) => this.reading.get(n)));
      for (const n of stale) {
        const c = this.compiled.get(n);
        // A type that is not in the catalog stays out of the answer (and is read again next time).
        if (c && c.at >= now - this.maxAgeMs) out.set(n, c.entry);
      }
    }
    return out;
  }

  private async read(names: string[], now: number): Promise<void> {
    const found = new Set<string>();
    for (const t of await getEventTypes(this.db, names)) {
      found.add(t.name);
      const version = t.updated_at.getTime();
      const prev = this.compiled.get(t.name);
      const entry = prev && prev.version === version ? prev.entry : this.compile(t);
      this.compiled.set(t.name, { at: now, version, entry });
    }
    for (const n of names) if (!found.has(n)) this.compiled.delete(n);
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
