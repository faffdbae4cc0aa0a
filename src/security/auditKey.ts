// The deployment's Ed25519 key that signs the attempt chain's checkpoints. Set it with
// TIDINGS_AUDIT_SIGNING_KEY (a whsk_ key, e.g. from `tidings audit key generate`), or let the
// first process generate one: it is stored in the database sealed with the key for secrets at
// rest (so every process sharing the store signs with the same key), and its public half
// beside it in clear, for `tidings audit verify`.
import { newKeyPair, publicKeyOf, signEd25519, verifyEd25519 } from '../signing/ed25519.js';
import type { Queryable } from '../store/db.js';
import { getMeta, putMetaOnce } from '../store/meta.js';
import type { SecretCodec } from '../store/secrets.js';

const SECRET_META = 'audit_signing_key';
const PUBLIC_META = 'audit_public_key';
/** The `id` of the signed content (Standard Webhooks form: `${id}.${timestamp}.${body}`). */
const SIGNED_ID = 'tidings.audit.checkpoint';

export interface CheckpointFields {
  tenant_id: string;
  /** Records in the tenant's chain so far (the last record's seq). */
  seq: number;
  /** The last record's hash, hex. */
  hash: string;
  created_at: Date;
}

export interface AuditSigner {
  /** `whpk_` + base64. */
  publicKey: string;
  /** `v1a,` + base64 Ed25519 signature (see checkpointContent). */
  sign(cp: CheckpointFields): string;
}

/**
 * What a checkpoint signature covers, in the Standard Webhooks asymmetric form: id
 * `tidings.audit.checkpoint`, the checkpoint's time in seconds, and the body
 * `${tenant_id}.${seq}.${hash}` (seq and hash never hold a dot, so the tenant is the rest).
 */
function checkpointParts(cp: CheckpointFields): [string, number, string] {
  return [SIGNED_ID, Math.floor(cp.created_at.getTime() / 1000), `${cp.tenant_id}.${cp.seq}.${cp.hash}`];
}

export function signerOf(secretKey: string): AuditSigner {
  return {
    publicKey: publicKeyOf(secretKey),
    sign: (cp) => signEd25519(secretKey, ...checkpointParts(cp)),
  };
}

export function checkpointSignatureValid(
  publicKey: string,
  cp: CheckpointFields,
  signature: string,
): boolean {
  try {
    return verifyEd25519(publicKey, ...checkpointParts(cp), signature);
  } catch {
    return false;
  }
}

/** The configured key, or the stored one (generated on first use). */
export async function loadAuditSigner(
  q: Queryable,
  configured: string | undefined,
  codec: SecretCodec,
): Promise<AuditSigner> {
  if (configured) {
    const signer = signerOf(configured);
    await putMetaOnce(q, PUBLIC_META, signer.publicKey);
    return signer;
  }
  const fresh = newKeyPair().secretKey;
  // Two processes starting at once agree: the first insert wins, the other reads it.
  const sealed = await putMetaOnce(q, SECRET_META, codec.seal(fresh));
  const signer = signerOf(codec.open(sealed));
  await putMetaOnce(q, PUBLIC_META, signer.publicKey);
  return signer;
}

/** The public key checkpoints are checked with: the configured key's, else the stored one. */
export async function auditPublicKey(
  q: Queryable,
  configured: string | undefined,
): Promise<string | undefined> {
  if (configured) return publicKeyOf(configured);
  return getMeta(q, PUBLIC_META);
}
