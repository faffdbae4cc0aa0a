// Endpoint health over days: auto-disable, and the notices the operator is owed (failing,
// disabled, recovered). Each "take" marks its rows and returns them in the caller's
// transaction, so that the operator event published in the same transaction is written
// exactly once, however many workers sweep at the same time (the row lock and the re-checked
// condition let only one of them take a row).
import type { Queryable } from './db.js';

export interface EndpointNotice {
  endpoint_id: string;
  tenant_id: string;
  url: string;
  disabled: boolean;
  disabled_at: Date | null;
  disabled_reason: string | null;
  consecutive_failures: number;
  failing_since: Date | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  /** Set for a parked endpoint (takeFaultNotices): when and why it was parked. */
  faulted_at?: Date | null;
  fault?: string | null;
}

const NOTICE_COLUMNS = `e.id AS endpoint_id, e.tenant_id, e.url, e.disabled, e.disabled_at, e.disabled_reason,
  s.consecutive_failures, s.failing_since, s.last_success_at, s.last_failure_at`;

export const GONE_REASON = 'the endpoint answered 410 Gone';

/**
 * Disables endpoints that have failed without a single success since `failingBefore`
 * (through endpoint_state_failing). Their deliveries stay pending: re-enabling sends them.
 */
export async function autoDisable(
  q: Queryable,
  failingBefore: Date,
  now: Date,
  reason: string,
  limit = 100,
): Promise<string[]> {
  const rows = await q.query<{ endpoint_id: string }>(
    `WITH due AS (
       SELECT s.endpoint_id FROM endpoint_state s JOIN endpoints e ON e.id = s.endpoint_id
       WHERE s.failing_since <= $1 AND NOT e.disabled
       ORDER BY s.failing_since LIMIT $4
       FOR UPDATE OF s SKIP LOCKED
     ), off AS (
       UPDATE endpoints e SET disabled = true, disabled_at = $2, updated_at = $2, disabled_reason = $3
       FROM due WHERE e.id = due.endpoint_id AND NOT e.disabled
       RETURNING e.id
     )
     UPDATE endpoint_state s SET auto_disabled_at = $2
     FROM off WHERE s.endpoint_id = off.id
     RETURNING s.endpoint_id`,
    [failingBefore, now, reason, limit],
  );
  return rows.map((r) => r.endpoint_id);
}

/** Enabled endpoints failing since `failingBefore` whose streak the operator has not heard of. */
export async function takeFailingNotices(
  q: Queryable,
  failingBefore: Date,
  now: Date,
  limit = 100,
): Promise<EndpointNotice[]> {
  return q.query<EndpointNotice>(
    `WITH due AS (
       SELECT s.endpoint_id FROM endpoint_state s JOIN endpoints e ON e.id = s.endpoint_id
       WHERE s.failing_since <= $1 AND NOT e.disabled
         AND (s.failing_notified_at IS NULL OR s.failing_notified_at < s.failing_since)
       ORDER BY s.failing_since LIMIT $3
       FOR UPDATE OF s SKIP LOCKED
     )
     UPDATE endpoint_state s SET failing_notified_at = $2
     FROM due, endpoints e
     WHERE s.endpoint_id = due.endpoint_id AND e.id = s.endpoint_id
       AND (s.failing_notified_at IS NULL OR s.failing_notified_at < s.failing_since)
     RETURNING ${NOTICE_COLUMNS}`,
    [failingBefore, now, limit],
  );
}

/** Endpoints Tidings disabled (auto-disable, 410 Gone) that the operator has not heard of. */
export async function takeDisabledNotices(q: Queryable, now: Date, limit = 100): Promise<EndpointNotice[]> {
  return q.query<EndpointNotice>(
    `WITH due AS (
       SELECT s.endpoint_id FROM endpoint_state s JOIN endpoints e ON e.id = s.endpoint_id
       WHERE s.auto_disabled_at IS NOT NULL AND e.disabled
         AND (s.disabled_notified_at IS NULL OR s.disabled_notified_at < s.auto_disabled_at)
       LIMIT $2
       FOR UPDATE OF s SKIP LOCKED
     )
     UPDATE endpoint_state s SET disabled_notified_at = $1
     FROM due, endpoints e
     WHERE s.endpoint_id = due.endpoint_id AND e.id = s.endpoint_id
       AND (s.disabled_notified_at IS NULL OR s.disabled_notified_at < s.auto_disabled_at)
     RETURNING ${NOTICE_COLUMNS}`,
    [now, limit],
  );
}

/**
 * Endpoints the operator was told were failing or disabled that have since delivered
 * successfully (after being re-enabled, for a disabled one). Clears the notices.
 */
export async function takeRecoveredNotices(q: Queryable, limit = 100): Promise<EndpointNotice[]> {
  return q.query<EndpointNotice>(
    `WITH due AS (
       SELECT s.endpoint_id FROM endpoint_state s JOIN endpoints e ON e.id = s.endpoint_id
       WHERE (s.failing_notified_at IS NOT NULL OR s.auto_disabled_at IS NOT NULL) AND NOT e.disabled
         AND s.last_success_at > greatest(s.failing_notified_at, s.auto_disabled_at)
       LIMIT $1
       FOR UPDATE OF s SKIP LOCKED
     )
     UPDATE endpoint_state s SET failing_notified_at = NULL, auto_disabled_at = NULL, disabled_notified_at = NULL
     FROM due, endpoints e
     WHERE s.endpoint_id = due.endpoint_id AND e.id = s.endpoint_id
       AND (s.failing_notified_at IS NOT NULL OR s.auto_disabled_at IS NOT NULL)
     RETURNING ${NOTICE_COLUMNS}`,
    [limit],
  );
}

/**
 * Parked endpoints (see faults.ts) the operator has not heard of, through
 * endpoint_state_faulted. Parked again after an un-park, an endpoint is owed a new notice.
 */
export async function takeFaultNotices(q: Queryable, now: Date, limit = 100): Promise<EndpointNotice[]> {
  return q.query<EndpointNotice>(
    `WITH due AS (
       SELECT s.endpoint_id FROM endpoint_state s
       WHERE s.faulted_at IS NOT NULL AND (s.fault_notified_at IS NULL OR s.fault_notified_at < s.faulted_at)
       LIMIT $2
       FOR UPDATE OF s SKIP LOCKED
     )
     UPDATE endpoint_state s SET fault_notified_at = $1
     FROM due, endpoints e
     WHERE s.endpoint_id = due.endpoint_id AND e.id = s.endpoint_id AND s.faulted_at IS NOT NULL
       AND (s.fault_notified_at IS NULL OR s.fault_notified_at < s.faulted_at)
     RETURNING ${NOTICE_COLUMNS}, s.faulted_at, s.fault`,
    [now, limit],
  );
}
