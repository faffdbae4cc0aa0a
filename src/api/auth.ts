// Who is calling. The operator holds the admin token; tenant tokens (see tokens routes)
// reach only their own tenant's routes. Tokens are compared by their sha256, in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../security/principal.js';
import { ApiError } from './errors.js';

export type { Principal };

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export const unauthorized = () =>
  new ApiError(401, 'unauthorized', 'Send a valid token as "Authorization: Bearer <token>".', null, {
    'www-authenticate': 'Bearer',
  });

export function requireAdmin(p: Principal | null): void {
  if (!p) throw unauthorized();
  if (p.kind !== 'admin') throw new ApiError(403, 'forbidden', 'This call needs the operator token.');
}

/**
 * The caller may act on tenant `tid`. Another tenant's token gets 404, as if the tenant did
 * not exist, so that ids cannot be probed.
 */
export function requireTenant(p: Principal | null, tid: string): void {
  if (!p) throw unauthorized();
  if (p.kind === 'tenant' && p.tenantId !== tid) {
    throw new ApiError(404, 'tenant_not_found', `No tenant with id "${tid}".`);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The request body as received, for routes that keep payload text exactly. */
    rawBody?: string;
  }
}
