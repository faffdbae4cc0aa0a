// Portal sessions: the cookie, its CSRF token, and how a session becomes an API principal.
//
// The cookie holds a random token (the store keeps its sha256). The CSRF token is an HMAC
// of the session token, so it needs no storage, changes with every session, and cannot be
// turned back into the cookie. Pages carry it in a hidden form field and in a <meta> tag
// for their scripts, which send it as X-CSRF-Token.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { hashToken, type Principal } from '../api/auth.js';
import type { ApiContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import type { Config } from '../config.js';
import { findPortalSession } from '../store/portal.js';

/** Over https the cookie takes the __Host- prefix: Secure, Path=/, and no sibling domain can set it. */
const SECURE_COOKIE = '__Host-tidings_portal';
const PLAIN_COOKIE = 'tidings_portal';
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

export interface PortalSession {
  id: string;
  tenantId: string;
  expiresAt: Date;
  /** The cookie's token, to call the API as this session. */
  token: string;
  csrf: string;
}

export function csrfFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('tidings portal csrf v1').digest('base64url');
}

export function csrfMatches(sessionToken: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length === 0) return false;
  const want = Buffer.from(csrfFor(sessionToken));
  const got = Buffer.from(given);
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * Whether cookies get the Secure flag. TIDINGS_PUBLIC_URL on https decides for a deployment
 * behind a TLS proxy. A request that says it came over https (x-forwarded-proto) also gets
 * Secure cookies although the header is not trusted: the flag only restricts the cookie, so
 * a forged header can only break the forger's own session, never weaken anyone's.
 */
export function cookiesSecure(config: Config, req: FastifyRequest): boolean {
  if (config.publicUrl?.startsWith('https://')) return true;
  if (req.protocol === 'https') return true;
  const fwd = req.headers['x-forwarded-proto'];
  return (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim() === 'https';
}

export function readSessionToken(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  let plain: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === SECURE_COOKIE && value) return value;
    if (name === PLAIN_COOKIE && value) plain = value;
  }
  return plain;
}

export function sessionCookie(token: string, maxAgeMs: number, secure: boolean): string {
  const name = secure ? SECURE_COOKIE : PLAIN_COOKIE;
  return `${name}=${token}; Path=/; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return sessionCookie('', 0, secure);
}

/** The live session this request's cookie names, if any. */
export async function currentSession(
  ctx: ApiContext,
  req: FastifyRequest,
): Promise<PortalSession | undefined> {
  const token = readSessionToken(req);
  if (!token || token.length > 100) return undefined;
  const s = await findPortalSession(ctx.db, hashToken(token), ctx.clock.now());
  if (!s) return undefined;
  return { id: s.id, tenantId: s.tenant_id, expiresAt: s.expires_at, token, csrf: csrfFor(token) };
}

/**
 * For the API's auth hook: a /v1 call without a bearer token but with a portal cookie acts
 * as that tenant, provided it carries the session's CSRF token. Every method needs it, reads
 * included: the cookie is sent by the browser on its own, the header only by our pages.
 */
export function portalPrincipal(ctx: ApiContext) {
  return async (req: FastifyRequest): Promise<Principal | null> => {
    if (!req.url.startsWith('/v1/') || !readSessionToken(req)) return null;
    const s = await currentSession(ctx, req);
    if (!s) {
      throw new ApiError(
        401,
        'portal_session_ended',
        'The portal session has ended; open a new sign-in link.',
      );
    }
    if (!csrfMatches(s.token, req.headers[CSRF_HEADER])) {
      throw new ApiError(
        403,
        'csrf_token_invalid',
        'Calls from the portal must carry the X-CSRF-Token header.',
      );
    }
    return { kind: 'tenant', tenantId: s.tenantId, tokenId: s.id };
  };
}
