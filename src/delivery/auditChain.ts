// The attempts' hash chain, per tenant: sealed behind the acks, checkpointed and signed, and
// verified by `tidings audit verify`.
//
// The acks do not chain: a chain is a sequence, and putting every ack of a tenant behind one
// lock would serialize its deliveries. Instead the sealer, a maintenance job, walks the
// attempts in id order (one sealer at a time across every worker: a row lock taken with SKIP
// LOCKED) and appends each to its tenant's chain:
//
//   leaf = sha256(canonical attempt fields, store/attemptChain.ts CANONICAL)
//   hash = sha256(previous record's hash ‖ leaf)          (the first record's previous: 32 zero bytes)
//
// Attempt ids are handed out before their ack commits, so a lower id can become visible after
// a higher one. The sealer stops at a gap in the ids until the row after it is `settleMs` old:
// an ack statement takes milliseconds, and an id that is still missing then belongs to a
// statement that failed (its ids are never used).
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type AuditSigner, checkpointSignatureValid } from '../security/auditKey.js';
import {
  appendChain,
  attemptsAfter,
  type ChainRecordInput,
  type Checkpoint,
  chainHeads,
  chainPage,
  chainState,
  chainTenants,
  checkpointsOf,
  countUnsealed,
  headsToCheckpoint,
  insertCheckpoints,
  lockChainState,
  unchainedAttempts,
} from '../store/attemptChain.js';
import type { Db, Queryable } from '../store/db.js';
import { publishEvents } from '../store/publish.js';
import { checkpointEvent, ensureOperatorTenant } from './operatorEvents.js';

const GENESIS = Buffer.alloc(32);
/** An unsealed attempt recorded this long before the last sealed one was written into the past. */
const BACKDATED_MS = 10 * 60_000;

export const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();

export function recordHash(prevHex: string | null, leafHex: string): string {
  const prev = prevHex === null ? GENESIS : Buffer.from(prevHex, 'hex');
  return sha256(Buffer.concat([prev, Buffer.from(leafHex, 'hex')])).toString('hex');
}

export interface SealOptions {
  db: Db;
  clock: Clock;
  /** How long a gap in the attempt ids is waited for (default 60 s). */
  settleMs?: number;
  /** Attempts per transaction (default 1000). */
  batch?: number;
  shouldStop?: () => boolean;
}

/** Seals what can be sealed now. Returns how many attempts it chained (-1: another sealer runs). */
export async function sealAttempts(o: SealOptions): Promise<number> {
  const settle = o.settleMs ?? 60_000;
  const batch = o.batch ?? 1000;
  let total = 0;
  for (;;) {
    if (o.shouldStop?.()) return total;
    const step = await o.db.tx(async (q) => {
      const state = await lockChainState(q);
      if (!state) return { sealed: -1, more: false };
      const now = o.clock.now();
      const rows = await attemptsAfter(q, state.sealed_through, batch);
      let expected = state.sealed_through + 1;
      const take: typeof rows = [];
      for (const r of rows) {
        if (r.id !== expected && now.getTime() - r.created_at.getTime() < settle) break;
        take.push(r);
        expected = r.id + 1;
      }
      if (take.length === 0) return { sealed: 0, more: false };
      const tenants = [...new Set(take.map((r) => r.tenant_id))];
      const heads = new Map((await chainHeads(q, tenants)).map((h) => [h.tenant_id, h]));
      const records: ChainRecordInput[] = [];
      for (const r of take) {
        const head = heads.get(r.tenant_id);
        const leaf = sha256(r.canonical).toString('hex');
        const rec = {
          tenant_id: r.tenant_id,
          seq: (head?.seq ?? 0) + 1,
          attempt_id: r.id,
          leaf,
          hash: recordHash(head?.hash ?? null, leaf),
        };
        records.push(rec);
        heads.set(r.tenant_id, { tenant_id: r.tenant_id, seq: rec.seq, hash: rec.hash });
      }
      const last = take[take.length - 1]!;
      await appendChain(q, records, last.id, last.created_at, now);
      return { sealed: take.length, more: take.length === rows.length && rows.length === batch };
    });
    if (step.sealed < 0) return total === 0 ? -1 : total;
    total += step.sealed;
    if (!step.more) return total;
  }
}

export interface CheckpointOptions {
  db: Db;
  clock: Clock;
  signer: AuditSigner;
  operatorTenant: string;
  /** Checkpoints are written at most this often across every worker. */
  intervalMs: number;
}

/**
 * Signs the head of every chain that grew since its last checkpoint, stores the checkpoints
 * and publishes each to the operator's tenant as tidings.audit.checkpoint, in one
 * transaction. Returns how many were written (0 when not due yet, or another worker is at it).
 */
export async function checkpointChains(o: CheckpointOptions, force = false): Promise<number> {
  return o.db.tx(async (q) => {
    const state = await lockChainState(q);
    if (!state) return 0;
    const now = o.clock.now();
    if (!force) {
      // The first run only starts the clock: the first checkpoint comes one interval after the
      // deployment first ran a worker, not at every first start.
      if (!state.checkpoint_at) {
        await insertCheckpoints(q, [], now);
        return 0;
      }
      if (now.getTime() - state.checkpoint_at.getTime() < o.intervalMs * 0.9) return 0;
    }
    const heads = await headsToCheckpoint(q);
    const cps: Checkpoint[] = heads.map((h) => {
      const fields = { tenant_id: h.tenant_id, seq: h.seq, hash: h.hash, created_at: now };
      return { ...fields, public_key: o.signer.publicKey, signature: o.signer.sign(fields) };
    });
    await insertCheckpoints(q, cps, now);
    if (cps.length > 0) {
      await ensureOperatorTenant(q, o.operatorTenant, now);
      await publishEvents(
        q,
        cps.map((c) => checkpointEvent(o.operatorTenant, c)),
      );
    }
    return cps.length;
  });
}

export type ProblemKind = 'changed' | 'removed' | 'inserted' | 'checkpoint';

export interface VerifyProblem {
  tenant_id: string;
  kind: ProblemKind;
  /** The chain record (its number in the tenant's chain), when the problem is at one. */
  seq: number | null;
  attempt_id: number | null;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  tenants: number;
  records: number;
  /** Records whose attempt was removed by retention (their hashes remain). */
  pruned: number;
  checkpoints: number;
  /** Attempts the sealer has not reached yet: not covered by this check. */
  unsealed: number;
  /** The first problem of each tenant that has one. */
  problems: VerifyProblem[];
  /** Public keys the checkpoints were signed with. */
  keys: string[];
}

/**
 * Walks each tenant's chain (or one tenant's) from the first record: every record must follow
 * the one before (its number, its hash over the previous hash and its leaf), its attempt must
 * still hash to its leaf unless retention pruned it, the head must be the last record, every
 * checkpoint must be signed and match the record it names, and no attempt may be missing from
 * the part of the record the sealer has walked. Reports the first problem of each tenant.
 */
export async function verifyChains(
  db: Queryable,
  opts: { tenant?: string; trustedKey?: string; page?: number } = {},
): Promise<VerifyReport> {
  const page = opts.page ?? 2000;
  const state = await chainState(db);
  const all = await chainTenants(db);
  const heads = opts.tenant ? all.filter((h) => h.tenant_id === opts.tenant) : all;
  const report: VerifyReport = {
    ok: true,
    tenants: heads.length,
    records: 0,
    pruned: 0,
    checkpoints: 0,
    unsealed: await countUnsealed(db, state.sealed_through),
    problems: [],
    keys: [],
  };
  const keys = new Set<string>();
  for (const head of heads) {
    const problem = await verifyTenant(db, head, page, report, keys, opts.trustedKey);
    if (problem) report.problems.push(problem);
  }
  // Attempts that should be in a chain and are not.
  const olderThan = state.sealed_created_at
    ? new Date(state.sealed_created_at.getTime() - BACKDATED_MS)
    : null;
  const stray = await unchainedAttempts(db, opts.tenant ?? null, state.sealed_through, olderThan, 1000);
  for (const a of stray) {
    if (report.problems.some((p) => p.tenant_id === a.tenant_id)) continue;
    report.problems.push({
      tenant_id: a.tenant_id,
      kind: 'inserted',
      seq: null,
      attempt_id: a.id,
      message: a.inside
        ? `attempt ${a.id} is not in the chain, though the sealer passed its id: it was inserted afterwards`
        : `attempt ${a.id} is recorded at ${a.created_at.toISOString()}, before attempts sealed long ago, and is in no chain: it was inserted afterwards`,
    });
  }
  report.keys = [...keys];
  report.ok = report.problems.length === 0;
  return report;
}

async function verifyTenant(
  db: Queryable,
  head: { tenant_id: string; seq: number; hash: string },
  page: number,
  report: VerifyReport,
  keys: Set<string>,
  trustedKey: string | undefined,
): Promise<VerifyProblem | undefined> {
  const tenant = head.tenant_id;
  const at = (kind: ProblemKind, seq: number | null, attempt: number | null, message: string) => ({
    tenant_id: tenant,
    kind,
    seq,
    attempt_id: attempt,
    message,
  });
  const checkpoints = new Map<number, Checkpoint[]>();
  for (const c of await checkpointsOf(db, tenant)) {
    report.checkpoints += 1;
    keys.add(c.public_key);
    if (!checkpointSignatureValid(c.public_key, c, c.signature)) {
      return at('checkpoint', c.seq, null, `checkpoint at record ${c.seq} does not verify with its key`);
    }
    if (trustedKey && c.public_key !== trustedKey) {
      return at('checkpoint', c.seq, null, `checkpoint at record ${c.seq} is signed by an unknown key`);
    }
    checkpoints.set(c.seq, [...(checkpoints.get(c.seq) ?? []), c]);
  }
  let prevSeq = 0;
  let prevHash: string | null = null;
  for (;;) {
    const rows = await chainPage(db, tenant, prevSeq, page);
    for (const r of rows) {
      report.records += 1;
      if (r.seq !== prevSeq + 1) {
        return at('removed', prevSeq + 1, null, `record ${prevSeq + 1} is missing from the chain`);
      }
      if (r.hash !== recordHash(prevHash, r.leaf)) {
        return at(
          'changed',
          r.seq,
          r.attempt_id,
          `record ${r.seq} (attempt ${r.attempt_id}) does not follow the one before it`,
        );
      }
      if (r.canonical === null) {
        if (r.pruned_at === null) {
          return at('removed', r.seq, r.attempt_id, `attempt ${r.attempt_id} (record ${r.seq}) was removed`);
        }
        report.pruned += 1;
      } else if (sha256(r.canonical).toString('hex') !== r.leaf) {
        return at('changed', r.seq, r.attempt_id, `attempt ${r.attempt_id} (record ${r.seq}) was changed`);
      }
      for (const c of checkpoints.get(r.seq) ?? []) {
        if (c.hash !== r.hash) {
          return at(
            'checkpoint',
            r.seq,
            r.attempt_id,
            `record ${r.seq} differs from the checkpoint signed at ${c.created_at.toISOString()}`,
          );
        }
      }
      prevSeq = r.seq;
      prevHash = r.hash;
    }
    if (rows.length < page) break;
  }
  if (prevSeq !== head.seq || prevHash !== head.hash) {
    return at(
      'removed',
      prevSeq + 1,
      null,
      `the chain ends at record ${prevSeq}, its head says ${head.seq}: records were removed`,
    );
  }
  const beyond = [...checkpoints.keys()].find((s) => s > prevSeq);
  if (beyond !== undefined) {
    return at(
      'removed',
      prevSeq + 1,
      null,
      `a checkpoint names record ${beyond}, the chain ends at ${prevSeq}`,
    );
  }
  return undefined;
}
