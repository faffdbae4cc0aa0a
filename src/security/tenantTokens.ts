// Tenant API tokens: made here, shown once, kept as sha256, resolved on every request.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Queryable } from '../store/db.js';
import { findActiveToken, touchToken } from '../store/tokens.js';
import type { Principal } from './principal.js';

export const TENANT_TOKEN_PREFIX = 'tid_tenant_';

/** 32 random bytes: guessing one is out of reach, so the lookup needs no lockout. */
export function newTenantToken(): string {
  return TENANT_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function tokenHint(token: string): string {
  return token.slice(-4);
}

// last_used_at is a hint for people, not an access log (the audit log is that): writing it on
// every request would cost a write per read, so it moves at most once a minute.
const TOUCH_EVERY_MS = 60_000;

/** ServerOptions.resolveToken for tenant tokens: a live token's hash → its tenant principal. */
export function tenantTokenResolver(
  db: Queryable,
  clock: Clock,
  log: Logger,
): (tokenHash: string) => Promise<Principal | null> {
  return async (tokenHash) => {
    const now = clock.now();
    const t = await findActiveToken(db, tokenHash, now);
    if (!t) return null;
    if (!t.last_used_at || now.getTime() - t.last_used_at.getTime() >= TOUCH_EVERY_MS) {
      await touchToken(db, t.id, now).catch((err: unknown) =>
        log.warn({ err: String(err), token_id: t.id }, 'could not record token use'),
      );
    }
    return { kind: 'tenant', tenantId: t.tenant_id, tokenId: t.id };
  };
}
