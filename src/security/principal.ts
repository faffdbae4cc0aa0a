// Who is calling, as the layers below the API see it, and the random bearer tokens that
// portal links and sessions are made of. The API (api/auth.ts) turns a request into a Principal.
import { randomBytes } from 'node:crypto';

export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; tokenId: string };

/** A random token for a link or a session (the store keeps only its sha256). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}
