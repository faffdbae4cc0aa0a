import type { Queryable } from './db.js';

export interface EventType {
  name: string;
  description: string;
  group: string | null;
  schema: Record<string, unknown> | null;
  default_enabled: boolean;
  reminder: Record<string, unknown> | null;
  /** JSON pointers into the payload shown to tenants as "[redacted]" (catalog/redact.ts). */
  redact: string[] | null;
  /** Example payloads ([] when none). */
  examples: unknown[];
  /** Set when the type is deprecated. */
  deprecated: { reason: string } | null;
  created_at: Date;
  updated_at: Date;
}

export interface EventTypeInput {
  name: string;
  description?: string;
  group?: string | null;
  schema?: Record<string, unknown> | null;
  default_enabled?: boolean;
  reminder?: Record<string, unknown> | null;
  redact?: string[] | null;
  examples?: unknown[] | null;
  deprecated_reason?: string | null;
}

const COLUMNS = `name, description, group_name AS "group", schema, default_enabled, reminder, redact,
  coalesce(examples, '[]'::json) AS examples,
  CASE WHEN deprecated_reason IS NOT NULL THEN json_build_object('reason', deprecated_reason) END AS deprecated,
  created_at, updated_at`;

/** Inserts or replaces one event type; `created` tells which. */
export async function upsertEventType(
  q: Queryable,
  t: EventTypeInput,
  now: Date,
): Promise<{ type: EventType; created: boolean }> {
  const rows = await q.query<EventType & { created: boolean }>(
    `INSERT INTO event_types AS et (name, description, group_name, schema, default_enabled, reminder, redact, examples,
                                    deprecated_reason, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $8, $9, $10, $7, $7)
     ON CONFLICT (name) DO UPDATE SET
       description = EXCLUDED.description, group_name = EXCLUDED.group_name, schema = EXCLUDED.schema,
       default_enabled = EXCLUDED.default_enabled, reminder = EXCLUDED.reminder, redact = EXCLUDED.redact,
       examples = EXCLUDED.examples, deprecated_reason = EXCLUDED.deprecated_reason,
       -- An identical upsert (a catalog loaded twice) changes nothing, not even the time.
       updated_at = CASE WHEN (et.description, et.group_name, et.schema::text, et.default_enabled, et.reminder::text,
                               et.redact, et.examples::text, et.deprecated_reason)
                         IS NOT DISTINCT FROM
                         (EXCLUDED.description, EXCLUDED.group_name, EXCLUDED.schema::text, EXCLUDED.default_enabled,
                          EXCLUDED.reminder::text, EXCLUDED.redact, EXCLUDED.examples::text, EXCLUDED.deprecated_reason)
                    THEN et.updated_at ELSE EXCLUDED.updated_at END
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [
      t.name,
      t.description ?? '',
      t.group ?? null,
      t.schema == null ? null : JSON.stringify(t.schema),
      t.default_enabled ?? true,
      t.reminder == null ? null : JSON.stringify(t.reminder),
      now,
      t.redact == null || t.redact.length === 0 ? null : t.redact,
      t.examples == null ? null : JSON.stringify(t.examples),
      t.deprecated_reason ?? null,
    ],
  );
  const { created, ...type } = rows[0]!;
  return { type, created };
}

export async function listEventTypes(q: Queryable): Promise<EventType[]> {
  return q.query<EventType>(`SELECT ${COLUMNS} FROM event_types ORDER BY name`);
}

export async function getEventTypes(q: Queryable, names: string[]): Promise<EventType[]> {
  return q.query<EventType>(`SELECT ${COLUMNS} FROM event_types WHERE name = ANY($1::text[])`, [names]);
}

export async function deleteEventType(q: Queryable, name: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM event_types WHERE name = $1 RETURNING name', [name]);
  return rows.length > 0;
}
