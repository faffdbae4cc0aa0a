// Per-tenant quotas in the store (issue 13). Two ways of counting, by how many rows a kind
// may have:
// - few (endpoints, tokens, portal sessions: tens by default): counted, under a per-tenant
//   advisory lock held to the end of the transaction, so two concurrent creations cannot
//   both see room for one. The count reads the tenant's index and stops at the quota.
// - many (reminder rules, anchors: up to millions): a counter in tenant_usage (migration
//   007), moved in the transaction that creates or deletes the row. Its row lock is taken
//   last in that transaction (after the re-planning), so it is held only until the commit.
import type { Queryable } from './db.js';

export type CountedKind = 'reminder_rules' | 'anchors';

/** Serialises one tenant's quota checks of one kind until the transaction ends. */
export async function lockTenantQuota(q: Queryable, tenantId: string, kind: string): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
    `tidings.quota.${kind}`,
    tenantId,
  ]);
}

/** A tenant's endpoints, counted up to `upTo` (through endpoints_tenant). */
export async function countEndpointsOf(q: Queryable, tenantId: string, upTo: number): Promise<number> {
  const rows = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM (SELECT 1 FROM endpoints WHERE tenant_id = $1 LIMIT $2) x',
    [tenantId, upTo],
  );
  return rows[0]?.n ?? 0;
}

/** A tenant's live tokens (not revoked, not expired), counted up to `upTo` (through api_tokens_tenant). */
export async function countLiveTokensOf(
  q: Queryable,
  tenantId: string,
  now: Date,
  upTo: number,
): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT 1 FROM api_tokens
       WHERE tenant_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
       LIMIT $3) x`,
    [tenantId, now, upTo],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Counts one more row of `kind` for the tenant unless that would pass `max`; false (and
 * nothing counted) when it would. Call it last in the creating transaction.
 */
export async function takeUsage(
  q: Queryable,
  tenantId: string,
  kind: CountedKind,
  max: number,
): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO tenant_usage AS u (tenant_id, kind, used) VALUES ($1, $2, 1)
     ON CONFLICT (tenant_id, kind) DO UPDATE SET used = u.used + 1 WHERE u.used < $3
     RETURNING used`,
    [tenantId, kind, max],
  );
  return rows.length > 0;
}

/** Adds `n` rows of `kind` to the tenant's count without a limit (bulk loads by the operator). */
export async function addUsage(q: Queryable, tenantId: string, kind: CountedKind, n: number): Promise<void> {
  if (n === 0) return;
  await q.query(
    `INSERT INTO tenant_usage AS u (tenant_id, kind, used) VALUES ($1, $2, greatest($3::bigint, 0))
     ON CONFLICT (tenant_id, kind) DO UPDATE SET used = greatest(u.used + $3::bigint, 0)`,
    [tenantId, kind, n],
  );
}
