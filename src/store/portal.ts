// Portal sign-in links and sessions. Tokens never reach the store: callers pass their
// sha256, so what is stored cannot be replayed.
import type { Queryable } from './db.js';
import { lockTenantQuota } from './quotas.js';

export interface PortalLink {
  id: string;
  tenant_id: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export interface PortalSession {
  id: string;
  tenant_id: string;
  link_id: string | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

/** Why a link cannot start a session. */
export type LinkProblem = 'unknown' | 'used' | 'expired';

/** Rows this long past their expiry are removed when a new link is made. */
const KEEP_EXPIRED_MS = 24 * 3600 * 1000;

export async function createPortalLink(
  q: Queryable,
  link: { id: string; tenantId: string; tokenSha256: string; expiresAt: Date },
  now: Date,
): Promise<PortalLink> {
  // Housekeeping rides on link creation: it is rare, and finding old rows uses the expiry indexes.
  const horizon = new Date(now.getTime() - KEEP_EXPIRED_MS);
  await q.query('DELETE FROM portal_links WHERE expires_at < $1', [horizon]);
  await q.query('DELETE FROM portal_sessions WHERE expires_at < $1', [horizon]);
  const rows = await q.query<PortalLink>(
    `INSERT INTO portal_links (id, tenant_id, token_sha256, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)
     RETURNING id, tenant_id, created_at, expires_at, used_at`,
    [link.id, link.tenantId, link.tokenSha256, now, link.expiresAt],
  );
  return rows[0]!;
}

/** What opening a link would do, without using it up (the page that asks to continue). */
export async function checkPortalLink(
  q: Queryable,
  tokenSha256: string,
  now: Date,
): Promise<{ ok: true; link: PortalLink } | { ok: false; problem: LinkProblem; link?: PortalLink }> {
  const rows = await q.query<PortalLink>(
    'SELECT id, tenant_id, created_at, expires_at, used_at FROM portal_links WHERE token_sha256 = $1',
    [tokenSha256],
  );
  const link = rows[0];
  if (!link) return { ok: false, problem: 'unknown' };
  if (link.used_at) return { ok: false, problem: 'used', link };
  if (link.expires_at <= now) return { ok: false, problem: 'expired', link };
  return { ok: true, link };
}

/**
 * Uses a link up and starts its session, in the caller's transaction. The UPDATE's
 * condition is the whole check: of two concurrent openings only one finds used_at NULL
 * (the other waits on the row lock, then sees it set), so a link starts one session.
 */
export async function consumePortalLink(
  q: Queryable,
  tokenSha256: string,
  session: { id: string; tokenSha256: string; expiresAt: Date },
  now: Date,
): Promise<{ ok: true; session: PortalSession } | { ok: false; problem: LinkProblem }> {
  const used = await q.query<{ id: string; tenant_id: string }>(
    `UPDATE portal_links SET used_at = $2
     WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2
     RETURNING id, tenant_id`,
    [tokenSha256, now],
  );
  const link = used[0];
  if (!link) {
    const check = await checkPortalLink(q, tokenSha256, now);
    return { ok: false, problem: check.ok ? 'used' : check.problem };
  }
  const rows = await q.query<PortalSession>(
    `INSERT INTO portal_sessions (id, tenant_id, token_sha256, link_id, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, tenant_id, link_id, created_at, expires_at, revoked_at`,
    [session.id, link.tenant_id, session.tokenSha256, link.id, now, session.expiresAt],
  );
  return { ok: true, session: rows[0]! };
}

/** The live session a cookie names: not expired, not revoked. */
export async function findPortalSession(
  q: Queryable,
  tokenSha256: string,
  now: Date,
): Promise<PortalSession | undefined> {
  const rows = await q.query<PortalSession>(
    `SELECT id, tenant_id, link_id, created_at, expires_at, revoked_at FROM portal_sessions
     WHERE token_sha256 = $1 AND revoked_at IS NULL AND expires_at > $2`,
    [tokenSha256, now],
  );
  return rows[0];
}

export async function listPortalSessions(
  q: Queryable,
  tenantId: string,
  now: Date,
): Promise<PortalSession[]> {
  return q.query<PortalSession>(
    `SELECT id, tenant_id, link_id, created_at, expires_at, revoked_at FROM portal_sessions
     WHERE tenant_id = $1 AND revoked_at IS NULL AND expires_at > $2
     ORDER BY created_at DESC, id`,
    [tenantId, now],
  );
}

/** Ends a tenant's live sessions (one, when `sessionId` is given); returns how many. */
export async function revokePortalSessions(
  q: Queryable,
  tenantId: string,
  now: Date,
  sessionId?: string,
): Promise<number> {
  const rows = await q.query(
    `UPDATE portal_sessions SET revoked_at = $2
     WHERE tenant_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND ($3::text IS NULL OR id = $3)
     RETURNING id`,
    [tenantId, now, sessionId ?? null],
  );
  return rows.length;
}

/**
 * Keeps at most `keep` live sessions of a tenant (TIDINGS_MAX_PORTAL_SESSIONS_PER_TENANT):
 * the oldest beyond that are ended, in the caller's transaction, after the per-tenant quota
 * lock (so concurrent sign-ins count each other). Through portal_sessions_tenant. Returns how
 * many were ended.
 */
export async function endSessionsBeyond(
  q: Queryable,
  tenantId: string,
  keep: number,
  now: Date,
): Promise<number> {
  await lockTenantQuota(q, tenantId, 'portal_sessions');
  const rows = await q.query(
    `UPDATE portal_sessions SET revoked_at = $3
     WHERE id IN (
       SELECT id FROM portal_sessions
       WHERE tenant_id = $1 AND revoked_at IS NULL AND expires_at > $3
       ORDER BY created_at DESC, id DESC
       OFFSET $2)
     RETURNING id`,
    [tenantId, keep, now],
  );
  return rows.length;
}
