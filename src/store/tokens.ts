// Tenant API tokens: stored as sha256 only, looked up on every authenticated request.
import type { Queryable } from './db.js';
import { decodeCursor, type Page, pageOf } from './page.js';

export interface ApiToken {
  id: string;
  tenant_id: string;
  name: string;
  /** The token's last four characters, to tell tokens apart. */
  hint: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, tenant_id, name, hint, created_at, expires_at, last_used_at, revoked_at';

export async function createToken(
  q: Queryable,
  t: { id: string; tenantId: string; name: string; sha256: string; hint: string; expiresAt: Date | null },
  now: Date,
): Promise<ApiToken> {
  const rows = await q.query<ApiToken>(
    `INSERT INTO api_tokens (id, tenant_id, name, token_sha256, hint, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [t.id, t.tenantId, t.name, t.sha256, t.hint, now, t.expiresAt],
  );
  return rows[0]!;
}

/** The live token with this hash (not revoked, not expired), through api_tokens_hash. */
export async function findActiveToken(
  q: Queryable,
  sha256: string,
  now: Date,
): Promise<{ id: string; tenant_id: string; last_used_at: Date | null } | undefined> {
  const rows = await q.query<{ id: string; tenant_id: string; last_used_at: Date | null }>(
    `SELECT id, tenant_id, last_used_at FROM api_tokens
     WHERE token_sha256 = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`,
    [sha256, now],
  );
  return rows[0];
}

export async function touchToken(q: Queryable, id: string, now: Date): Promise<void> {
  await q.query('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1', [id, now]);
}

export async function listTokens(
  q: Queryable,
  tenantId: string,
  limit: number,
  cursor?: string,
): Promise<Page<ApiToken> | undefined> {
  let after: (string | number)[] | undefined;
  if (cursor) {
    after = decodeCursor(cursor, ['string']);
    if (!after) return undefined;
  }
  const rows = await q.query<ApiToken>(
    `SELECT ${COLUMNS} FROM api_tokens WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2)
     ORDER BY id LIMIT $3`,
    [tenantId, after?.[0] ?? null, limit + 1],
  );
  return pageOf(rows, limit, (t) => [t.id]);
}

/** Revokes a token of this tenant; false when there is no such token. Revoking twice is fine. */
export async function revokeToken(q: Queryable, tenantId: string, id: string, now: Date): Promise<boolean> {
  const rows = await q.query(
    `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2 RETURNING id`,
    [tenantId, id, now],
  );
  return rows.length > 0;
}
