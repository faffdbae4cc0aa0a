import { PRUNE_CHAIN_OF } from './attemptChain.js';
import type { Queryable } from './db.js';
import { decodeCursor, type Page, pageOf } from './page.js';

export interface Tenant {
  id: string;
  name: string;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, metadata, created_at, updated_at';

/** Undefined when the id is taken. */
export async function createTenant(
  q: Queryable,
  t: { id: string; name: string; metadata?: Record<string, unknown> },
  now: Date,
): Promise<Tenant | undefined> {
  const rows = await q.query<Tenant>(
    `INSERT INTO tenants (id, name, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
    [t.id, t.name, JSON.stringify(t.metadata ?? {}), now],
  );
  return rows[0];
}

export async function getTenant(q: Queryable, id: string): Promise<Tenant | undefined> {
  const rows = await q.query<Tenant>(`SELECT ${COLUMNS} FROM tenants WHERE id = $1`, [id]);
  return rows[0];
}

export async function tenantExists(q: Queryable, id: string): Promise<boolean> {
  const rows = await q.query('SELECT 1 FROM tenants WHERE id = $1', [id]);
  return rows.length > 0;
}

export async function listTenants(
  q: Queryable,
  limit: number,
  cursor?: string,
): Promise<Page<Tenant> | undefined> {
  let after: (string | number)[] | undefined;
  if (cursor) {
    after = decodeCursor(cursor, ['string']);
    if (!after) return undefined;
  }
  const rows = await q.query<Tenant>(
    `SELECT ${COLUMNS} FROM tenants WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2`,
    [after?.[0] ?? null, limit + 1],
  );
  return pageOf(rows, limit, (t) => [t.id]);
}

export async function updateTenant(
  q: Queryable,
  id: string,
  patch: { name?: string; metadata?: Record<string, unknown> },
  now: Date,
): Promise<Tenant | undefined> {
  const rows = await q.query<Tenant>(
    `UPDATE tenants SET name = COALESCE($2, name), metadata = COALESCE($3::json, metadata), updated_at = $4
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, patch.name ?? null, patch.metadata === undefined ? null : JSON.stringify(patch.metadata), now],
  );
  return rows[0];
}

/**
 * Deletes a tenant and everything it owns. Endpoints and the rest go through their foreign
 * keys; the hot tables have none (see migration 006), so their rows are removed here, each
 * through an index: events by tenant, deliveries by event, attempts and queue rows by delivery.
 */
export async function deleteTenant(q: Queryable, id: string): Promise<boolean> {
  const rows = await q.query(
    `WITH evs AS (SELECT seq FROM events WHERE tenant_id = $1),
          dls AS (SELECT d.id FROM deliveries d WHERE d.event_seq IN (SELECT seq FROM evs)),
          a AS (DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM dls) RETURNING id),
          ${PRUNE_CHAIN_OF('a')},
          qd AS (DELETE FROM delivery_queue WHERE delivery_id IN (SELECT id FROM dls)),
          d AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM dls)),
          e AS (DELETE FROM events WHERE seq IN (SELECT seq FROM evs)),
          t AS (DELETE FROM endpoint_turns WHERE endpoint_id IN (SELECT id FROM endpoints WHERE tenant_id = $1))
     DELETE FROM tenants WHERE id = $1 RETURNING id`,
    [id],
  );
  return rows.length > 0;
}
