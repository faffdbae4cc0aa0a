// The attempts' hash chain (migration 013): what the sealer reads and writes, what verify
// walks, and the signed checkpoints. The hashing itself is in delivery/auditChain.ts.
import type { Queryable } from './db.js';

/**
 * An attempt's canonical fields, as one text, computed the same way by the sealer and by
 * verify: a JSON array in a fixed order. Times are whole microseconds since the epoch (the
 * text form of a timestamptz depends on the session's time zone), the request headers keep
 * their stored text (the signature headers are in them), the response body enters by its
 * sha256. `a` is the attempts row.
 */
const CANONICAL = `json_build_array(
  a.id, a.delivery_id, a.attempt, (extract(epoch FROM a.started_at) * 1000000)::bigint, a.duration_ms,
  a.url, a.status, a.request_headers, a.body_sha256, a.response_headers,
  CASE WHEN a.response_body IS NULL THEN NULL ELSE encode(sha256(convert_to(a.response_body, 'UTF8')), 'hex') END,
  a.error, (extract(epoch FROM a.created_at) * 1000000)::bigint, a.endpoint_sequence)::text`;

/**
 * For a CTE `cte` that deleted attempts RETURNING id: their kept bodies go, their chain
 * records stay, marked pruned (verify then trusts the record's leaf hash). Every store path
 * that deletes attempts (retention, endpoint and tenant deletion) includes it; a row removed
 * any other way is what verify reports as removed.
 */
export const PRUNE_CHAIN_OF = (cte: string) =>
  `ab AS (DELETE FROM attempt_bodies WHERE attempt_id IN (SELECT id FROM ${cte})),
          pr AS (UPDATE attempt_chain SET pruned_at = now() WHERE attempt_id IN (SELECT id FROM ${cte}))`;

export interface ChainState {
  sealed_through: number;
  sealed_created_at: Date | null;
  checkpoint_at: Date | null;
}

/**
 * The sealer's row, locked for this transaction; undefined when another sealer (or
 * checkpoint) holds it: SKIP LOCKED, so workers never queue up behind one another.
 */
export async function lockChainState(q: Queryable): Promise<ChainState | undefined> {
  const rows = await q.query<ChainState>(
    `SELECT sealed_through::float8 AS sealed_through, sealed_created_at, checkpoint_at
     FROM attempt_chain_state WHERE id = 1 FOR UPDATE SKIP LOCKED`,
  );
  return rows[0];
}

export async function chainState(q: Queryable): Promise<ChainState> {
  const rows = await q.query<ChainState>(
    `SELECT sealed_through::float8 AS sealed_through, sealed_created_at, checkpoint_at
     FROM attempt_chain_state WHERE id = 1`,
  );
  return rows[0] ?? { sealed_through: 0, sealed_created_at: null, checkpoint_at: null };
}

export interface UnsealedAttempt {
  id: number;
  /** '' for an attempt whose delivery is gone (it can only have been written around the store). */
  tenant_id: string;
  created_at: Date;
  canonical: string;
}

/** The next attempts after `afterId`, in id order (the primary key), with their tenant. */
export async function attemptsAfter(
  q: Queryable,
  afterId: number,
  limit: number,
): Promise<UnsealedAttempt[]> {
  return q.query<UnsealedAttempt>(
    `SELECT a.id::float8 AS id, coalesce(d.tenant_id, '') AS tenant_id, a.created_at, ${CANONICAL} AS canonical
     FROM attempts a LEFT JOIN deliveries d ON d.id = a.delivery_id
     WHERE a.id > $1 ORDER BY a.id LIMIT $2`,
    [afterId, limit],
  );
}

/** Hashes travel as hex text: one form on both engines. */
export interface ChainHead {
  tenant_id: string;
  seq: number;
  hash: string;
}

export async function chainHeads(q: Queryable, tenants: string[]): Promise<ChainHead[]> {
  return q.query<ChainHead>(
    `SELECT tenant_id, seq::float8 AS seq, encode(hash, 'hex') AS hash FROM attempt_chain_heads WHERE tenant_id = ANY($1::text[])`,
    [tenants],
  );
}

export interface ChainRecordInput {
  tenant_id: string;
  seq: number;
  attempt_id: number;
  leaf: string;
  hash: string;
}

/**
 * Appends sealed records, moves the heads to each tenant's last one, and the sealer's
 * position to `sealedThrough`, in the caller's transaction (the one holding the state row).
 */
export async function appendChain(
  q: Queryable,
  records: ChainRecordInput[],
  sealedThrough: number,
  sealedCreatedAt: Date | null,
  now: Date,
): Promise<void> {
  if (records.length > 0) {
    await q.query(
      `INSERT INTO attempt_chain (tenant_id, seq, attempt_id, leaf, hash, sealed_at)
       SELECT t, s, a, decode(l, 'hex'), decode(h, 'hex'), $6
       FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS r(t, s, a, l, h)`,
      [
        records.map((r) => r.tenant_id),
        records.map((r) => r.seq),
        records.map((r) => r.attempt_id),
        records.map((r) => r.leaf),
        records.map((r) => r.hash),
        now,
      ],
    );
    const last = new Map<string, ChainRecordInput>();
    for (const r of records) last.set(r.tenant_id, r);
    const heads = [...last.values()];
    await q.query(
      `INSERT INTO attempt_chain_heads (tenant_id, seq, hash, updated_at)
       SELECT t, s, decode(h, 'hex'), $4 FROM unnest($1::text[], $2::bigint[], $3::text[]) AS r(t, s, h)
       ON CONFLICT (tenant_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash, updated_at = EXCLUDED.updated_at`,
      [heads.map((h) => h.tenant_id), heads.map((h) => h.seq), heads.map((h) => h.hash), now],
    );
  }
  await q.query(
    `UPDATE attempt_chain_state SET sealed_through = $1, sealed_created_at = coalesce($2, sealed_created_at)
     WHERE id = 1`,
    [sealedThrough, sealedCreatedAt],
  );
}

export interface ChainRecordView {
  seq: number;
  attempt_id: number;
  leaf: string;
  hash: string;
  pruned_at: Date | null;
  /** The attempt's canonical fields now; null when the attempts row is gone. */
  canonical: string | null;
}

/** One page of a tenant's chain in order, each record beside its attempt as it is now. */
export async function chainPage(
  q: Queryable,
  tenantId: string,
  afterSeq: number,
  limit: number,
): Promise<ChainRecordView[]> {
  return q.query<ChainRecordView>(
    `SELECT c.seq::float8 AS seq, c.attempt_id::float8 AS attempt_id, encode(c.leaf, 'hex') AS leaf,
            encode(c.hash, 'hex') AS hash, c.pruned_at,
            CASE WHEN a.id IS NULL THEN NULL ELSE ${CANONICAL} END AS canonical
     FROM attempt_chain c LEFT JOIN attempts a ON a.id = c.attempt_id
     WHERE c.tenant_id = $1 AND c.seq > $2
     ORDER BY c.seq LIMIT $3`,
    [tenantId, afterSeq, limit],
  );
}

export async function chainTenants(q: Queryable): Promise<ChainHead[]> {
  return q.query<ChainHead>(
    `SELECT tenant_id, seq::float8 AS seq, encode(hash, 'hex') AS hash FROM attempt_chain_heads ORDER BY tenant_id`,
  );
}

export interface StrayAttempt {
  id: number;
  tenant_id: string;
  created_at: Date;
  /** Inside the sealed range (else: dated before it). */
  inside: boolean;
}

/**
 * Attempts that are not in the chain though they should be: inside the sealed range (the
 * sealer walked past their id), or unsealed yet recorded well before the last sealed one
 * (`olderThan`): rows written into the past. Oldest first, a few.
 */
export async function unchainedAttempts(
  q: Queryable,
  tenantId: string | null,
  sealedThrough: number,
  olderThan: Date | null,
  limit: number,
): Promise<StrayAttempt[]> {
  return q.query<StrayAttempt>(
    `SELECT a.id::float8 AS id, coalesce(d.tenant_id, '') AS tenant_id, a.created_at, a.id <= $2 AS inside
     FROM attempts a LEFT JOIN deliveries d ON d.id = a.delivery_id
     WHERE ($1::text IS NULL OR coalesce(d.tenant_id, '') = $1)
       AND (a.id <= $2 OR a.created_at < $3)
       AND NOT EXISTS (SELECT 1 FROM attempt_chain c WHERE c.attempt_id = a.id)
     ORDER BY a.id LIMIT $4`,
    [tenantId, sealedThrough, olderThan, limit],
  );
}

/** Attempts the sealer has not reached yet (for verify's summary). */
export async function countUnsealed(q: Queryable, sealedThrough: number): Promise<number> {
  const rows = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM attempts WHERE id > $1', [
    sealedThrough,
  ]);
  return rows[0]?.n ?? 0;
}

export interface Checkpoint {
  tenant_id: string;
  seq: number;
  hash: string;
  created_at: Date;
  public_key: string;
  signature: string;
}

/** Heads that moved since their tenant's last checkpoint. */
export async function headsToCheckpoint(q: Queryable): Promise<ChainHead[]> {
  return q.query<ChainHead>(
    `SELECT h.tenant_id, h.seq::float8 AS seq, encode(h.hash, 'hex') AS hash FROM attempt_chain_heads h
     WHERE h.seq > coalesce((SELECT max(c.seq) FROM attempt_chain_checkpoints c WHERE c.tenant_id = h.tenant_id), 0)
     ORDER BY h.tenant_id`,
  );
}

export async function insertCheckpoints(q: Queryable, cps: Checkpoint[], now: Date): Promise<void> {
  if (cps.length > 0) {
    await q.query(
      `INSERT INTO attempt_chain_checkpoints (tenant_id, seq, hash, created_at, public_key, signature)
       SELECT t, s, decode(h, 'hex'), c, k, g
       FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[], $6::text[]) AS r(t, s, h, c, k, g)`,
      [
        cps.map((c) => c.tenant_id),
        cps.map((c) => c.seq),
        cps.map((c) => c.hash),
        cps.map((c) => c.created_at),
        cps.map((c) => c.public_key),
        cps.map((c) => c.signature),
      ],
    );
  }
  await q.query('UPDATE attempt_chain_state SET checkpoint_at = $1 WHERE id = 1', [now]);
}

export async function checkpointsOf(q: Queryable, tenantId: string): Promise<Checkpoint[]> {
  return q.query<Checkpoint>(
    `SELECT tenant_id, seq::float8 AS seq, encode(hash, 'hex') AS hash, created_at, public_key, signature
     FROM attempt_chain_checkpoints WHERE tenant_id = $1 ORDER BY seq`,
    [tenantId],
  );
}
