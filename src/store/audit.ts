// The audit log: one row per management call, newest first when listed.
import type { Queryable } from './db.js';
import { decodeCursor, type Page, pageOf } from './page.js';

export interface AuditEntry {
  at: Date;
  actor: string;
  actor_tenant_id: string | null;
  tenant_id: string | null;
  action: string;
  target: Record<string, string>;
  status: number;
  ip: string | null;
  request_id: string | null;
}

export interface AuditRow extends AuditEntry {
  id: number;
}

export async function recordAudit(q: Queryable, e: AuditEntry): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (at, actor, actor_tenant_id, tenant_id, action, target, status, ip, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      e.at,
      e.actor,
      e.actor_tenant_id,
      e.tenant_id,
      e.action,
      JSON.stringify(e.target),
      e.status,
      e.ip,
      e.request_id,
    ],
  );
}

export interface AuditFilter {
  tenantId?: string;
  action?: string;
  actor?: string;
}

/** Newest first, by id; filters use audit_log_tenant / audit_log_action. */
export async function listAudit(
  q: Queryable,
  filter: AuditFilter,
  limit: number,
  cursor?: string,
): Promise<Page<AuditRow> | undefined> {
  let before: number | null = null;
  if (cursor) {
    const parts = decodeCursor(cursor, ['number']);
    if (!parts) return undefined;
    before = parts[0] as number;
  }
  const rows = await q.query<AuditRow & { id: string | number }>(
    `SELECT id, at, actor, actor_tenant_id, tenant_id, action, target, status, ip, request_id
     FROM audit_log
     WHERE ($1::bigint IS NULL OR id < $1)
       AND ($2::text IS NULL OR tenant_id = $2)
       AND ($3::text IS NULL OR action = $3)
       AND ($4::text IS NULL OR actor = $4)
     ORDER BY id DESC LIMIT $5`,
    [before, filter.tenantId ?? null, filter.action ?? null, filter.actor ?? null, limit + 1],
  );
  return pageOf(
    rows.map((r) => ({ ...r, id: Number(r.id) })),
    limit,
    (r) => [r.id],
  );
}
