// An endpoint's signing secrets: the current one (endpoints.secret) and those it replaced,
// still signing until their grace period ends (endpoints.previous_secrets). Both are sealed.
import { afterRotation, type PreviousSecret, parsePrevious } from '../signing/secrets.js';
import type { Queryable } from './db.js';
import type { SecretCodec } from './secrets.js';

export interface SigningSecrets {
  current: string;
  /** Replaced secrets, live or not; callers filter by expiry with their own clock. */
  previous: PreviousSecret[];
}

function openRow(r: { secret: string; previous_secrets: string | null }, codec: SecretCodec): SigningSecrets {
  return {
    current: codec.open(r.secret),
    previous: parsePrevious(r.previous_secrets ? codec.open(r.previous_secrets) : null),
  };
}

async function selectSecrets(
  q: Queryable,
  codec: SecretCodec,
  tenantId: string,
  id: string,
  lock: boolean,
): Promise<SigningSecrets | undefined> {
  const rows = await q.query<{ secret: string; previous_secrets: string | null }>(
    `SELECT secret, previous_secrets FROM endpoints WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, id],
  );
  return rows[0] && openRow(rows[0], codec);
}

export function getSigningSecrets(
  q: Queryable,
  codec: SecretCodec,
  tenantId: string,
  id: string,
): Promise<SigningSecrets | undefined> {
  return selectSecrets(q, codec, tenantId, id, false);
}

/**
 * Makes `secret` the endpoint's current secret; the one it replaces keeps signing until
 * `keepOldUntil` (not at all when that is not after `now`). The row is locked so that two
 * rotations at once cannot lose a secret from the list.
 */
export async function rotateSigningSecret(
  q: Queryable,
  codec: SecretCodec,
  tenantId: string,
  id: string,
  secret: string,
  keepOldUntil: Date,
  now: Date,
): Promise<SigningSecrets | undefined> {
  const old = await selectSecrets(q, codec, tenantId, id, true);
  if (!old) return undefined;
  const previous = afterRotation(old.current, old.previous, keepOldUntil, now);
  await q.query(
    `UPDATE endpoints SET secret = $3, previous_secrets = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2`,
    [
      tenantId,
      id,
      codec.seal(secret),
      previous.length > 0 ? codec.seal(JSON.stringify(previous)) : null,
      now,
    ],
  );
  return { current: secret, previous };
}
