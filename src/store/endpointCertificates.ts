// Rotating an endpoint's mTLS client certificate with overlap: the replaced certificate stays
// in the sealed `mtls` document until its grace period ends, and the sender falls back to it
// when the receiver refuses the new one (see delivery/destinations/http.ts).
import type { Queryable } from './db.js';
import type { ClientCertificate, MtlsSettings, ReplacedCertificate } from './endpointTargets.js';
import type { SecretCodec } from './secrets.js';

/** At most this many replaced certificates are kept beside the current one. */
export const MAX_PREVIOUS_CERTIFICATES = 3;

/** The replaced-certificates list after `current` gives way: it first (while `until` is ahead), then the live older ones. */
export function certificatesAfterRotation(
  old: MtlsSettings,
  next: ClientCertificate,
  until: Date,
  now: Date,
): ReplacedCertificate[] {
  const live = old.previous.filter(
    (p) => Date.parse(p.expires_at) > now.getTime() && p.certificate !== next.certificate,
  );
  const replaced =
    until.getTime() > now.getTime() && old.current.certificate !== next.certificate
      ? [{ ...old.current, expires_at: until.toISOString() }]
      : [];
  return [...replaced, ...live].slice(0, MAX_PREVIOUS_CERTIFICATES);
}

export type RotateCertificateResult =
  | { ok: true; mtls: MtlsSettings }
  | { ok: false; reason: 'not_found' | 'no_mtls' };

/**
 * Makes `next` the endpoint's client certificate; the one it replaces keeps being offered until
 * `keepOldUntil`. The row is locked (FOR UPDATE on its primary key) so that two rotations at
 * once cannot drop a certificate from the list.
 */
export async function rotateClientCertificate(
  q: Queryable,
  codec: SecretCodec,
  tenantId: string,
  id: string,
  next: ClientCertificate,
  keepOldUntil: Date,
  now: Date,
): Promise<RotateCertificateResult> {
  const rows = await q.query<{ mtls: string | null }>(
    'SELECT mtls FROM endpoints WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
    [tenantId, id],
  );
  const row = rows[0];
  if (!row) return { ok: false, reason: 'not_found' };
  if (row.mtls === null) return { ok: false, reason: 'no_mtls' };
  const old = JSON.parse(codec.open(row.mtls)) as MtlsSettings;
  const mtls: MtlsSettings = {
    current: next,
    previous: certificatesAfterRotation(old, next, keepOldUntil, now),
    ca: old.ca,
  };
  await q.query('UPDATE endpoints SET mtls = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    id,
    codec.seal(JSON.stringify(mtls)),
    now,
  ]);
  return { ok: true, mtls };
}
