// Plans and fires the slots of a batch of anchors inside the caller's transaction. The
// caller holds the anchors' row locks (API writes, or the scheduler's claim), so nothing
// else writes these slots meanwhile. The API calls it to plan only; the scheduler to fire
// what is due: the events are written by publishEvents in the same transaction that marks
// their slots fired, so a slot publishes exactly once whatever crashes when.
import type { Logger } from '../log.js';
import { publishInput } from '../publishing/publish.js';
import type { Queryable } from '../store/db.js';
import type { PublishInput } from '../store/events.js';
import { publishEvents } from '../store/publish.js';
import { addUsage } from '../store/quotas.js';
import { insertAnchors, loadPlanningAnchors, resolveAnchors } from '../store/reminders/anchors.js';
import { backOffSlots, leaseSlots, loadSlots, type SlotRef, writeSlots } from '../store/reminders/slots.js';
import type {
  AnchorInput,
  AnchorKey,
  PlanningAnchor,
  SlotWrite,
  StoredCalendar,
  StoredRule,
  StoredSlot,
} from '../store/reminders/types.js';
import type { BusinessCalendar } from './calendar.js';
import { firePayload, reminderEventId } from './payload.js';
import type { RefreshAnswer, RefreshQuestion } from './refresh.js';
import type { ReminderRule } from './rules.js';
import { type AnchorPlan, anchorPlan, decide, slotRule } from './slotPlan.js';

export interface BatchOptions {
  now: Date;
  /** Fire due slots (scheduler); false plans only (API writes). */
  fire: boolean;
  schedulerId?: string;
  /**
   * Answers from refresh_url, by anchorRef. An anchor whose rule has a refresh_url and no
   * answer here is not fired: its due slots are leased until `leaseUntil` and it is
   * returned in `refresh`, to ask outside the transaction.
   */
  fresh?: Map<string, RefreshAnswer>;
  leaseUntil?: Date;
  log?: Logger;
}

export interface FiredSlot extends SlotRef {
  event_id: string;
  event_type: string;
  /** When the slot was due (the fire lag is the time from here to the publish). */
  due_at: Date;
  late: boolean;
}

export interface RefreshJob {
  key: AnchorKey;
  question: RefreshQuestion;
  slots: SlotRef[];
  /** Failed refreshes so far (the largest among the slots), for the back-off. */
  attempts: number;
}

export interface BatchResult {
  anchors: number;
  fired: FiredSlot[];
  skipped: number;
  cancelled: number;
  /** Deliveries the fired events created (0: no worker needs waking). */
  deliveries: number;
  refresh: RefreshJob[];
  /** Anchors that could not be planned (their due slots back off for an hour). */
  errors: number;
}

/**
 * Periodic slots older than this are behind any horizon planned now (one period back, the
 * longest being a month, plus a run of holidays a "following" slot may have moved across).
 */
const PERIODIC_LOOKBACK_MS = 50 * 86_400_000;

/** How long an anchor that cannot be planned waits before the scheduler tries it again. */
export const PLAN_ERROR_BACKOFF_MS = 3_600_000;

export function anchorRef(k: AnchorKey): string {
  return `${k.tenant_id}\u0000${k.anchor_id}`;
}

export function toBusinessCalendar(c: StoredCalendar | null): BusinessCalendar | undefined {
  if (!c) return undefined;
  return {
    weekend_days: c.weekend_days,
    holidays: c.holidays,
    ...(c.time_zone ? { time_zone: c.time_zone } : {}),
  };
}

/** What a batch writes once every anchor is decided. */
interface BatchWrites {
  writes: SlotWrite[];
  events: PublishInput[];
  leases: SlotRef[];
  backOff: { refs: SlotRef[]; error: string }[];
}

export async function processAnchors(q: Queryable, keys: AnchorKey[], o: BatchOptions): Promise<BatchResult> {
  const result: BatchResult = {
    anchors: 0,
    fired: [],
    skipped: 0,
    cancelled: 0,
    deliveries: 0,
    refresh: [],
    errors: 0,
  };
  const anchors = await loadPlanningAnchors(q, keys);
  result.anchors = anchors.length;
  if (anchors.length === 0) return result;

  await resolveRefreshed(q, anchors, o);
  const { plans, failed } = planAnchors(anchors, o);
  const known = await slotsByAnchor(q, anchors, o.now);

  const out: BatchWrites = { writes: [], events: [], leases: [], backOff: [] };
  for (const a of anchors) {
    const ref = anchorRef(a);
    const stored = known.get(ref) ?? [];
    const problem = failed.get(ref);
    if (problem !== undefined) {
      result.errors += 1;
      o.log?.error(
        { tenant: a.tenant_id, anchor: a.anchor_id, err: problem },
        'reminder anchor cannot be planned',
      );
      const due = stored.filter((s) => s.state === 'planned' && s.due_at.getTime() <= o.now.getTime());
      out.backOff.push({ refs: due, error: `cannot be planned: ${problem}` });
      continue;
    }
    decideAnchor(a, plans.get(ref)!, stored, o, result, out);
  }
  await writeBatch(q, out, o, result);
  return result;
}

/** The producer said "resolved" (or 404/410): resolve first, so that the plan cancels. */
async function resolveRefreshed(q: Queryable, anchors: PlanningAnchor[], o: BatchOptions): Promise<void> {
  const resolvedNow = anchors.filter(
    (a) => a.resolved_at === null && o.fresh?.get(anchorRef(a))?.kind === 'resolved',
  );
  if (resolvedNow.length === 0) return;
  await resolveAnchors(q, resolvedNow, 'refresh', o.now);
  for (const a of resolvedNow) {
    a.resolved_at = o.now;
    a.resolution = 'refresh';
  }
}

/**
 * Each anchor's plan, by anchorRef. An anchor that cannot be planned fails the API's write
 * (plan only) or, when firing, is set aside with its message (its due slots back off).
 */
function planAnchors(
  anchors: PlanningAnchor[],
  o: BatchOptions,
): { plans: Map<string, AnchorPlan>; failed: Map<string, string> } {
  const plans = new Map<string, AnchorPlan>();
  const failed = new Map<string, string>();
  // Many anchors share a rule (the tenant default): parse each stored rule once per batch.
  const parsed = new Map<StoredRule, ReminderRule>();
  for (const a of anchors) {
    try {
      let rule: ReminderRule | null = null;
      if (a.rule) {
        rule = parsed.get(a.rule) ?? slotRule(a.rule, a.event_type);
        parsed.set(a.rule, rule);
      }
      plans.set(anchorRef(a), anchorPlan(a, rule, toBusinessCalendar(a.calendar), o.now));
    } catch (err) {
      if (!o.fire) throw err;
      failed.set(anchorRef(a), (err as Error).message);
    }
  }
  return { plans, failed };
}

/** The anchors' stored slots, by anchorRef (periodic ones from PERIODIC_LOOKBACK_MS back). */
async function slotsByAnchor(
  q: Queryable,
  anchors: PlanningAnchor[],
  now: Date,
): Promise<Map<string, StoredSlot[]>> {
  const known = new Map<string, StoredSlot[]>();
  for (const s of await loadSlots(q, anchors, new Date(now.getTime() - PERIODIC_LOOKBACK_MS))) {
    const ref = anchorRef(s);
    const list = known.get(ref);
    if (list) list.push(s);
    else known.set(ref, [s]);
  }
  return known;
}

/** One anchor: its slot changes, and what is due either fires or waits for its refresh_url. */
function decideAnchor(
  a: PlanningAnchor,
  plan: AnchorPlan,
  stored: StoredSlot[],
  o: BatchOptions,
  result: BatchResult,
  out: BatchWrites,
): void {
  const ref = anchorRef(a);
  const decision = decide(plan, stored, {
    now: o.now,
    fire: o.fire,
    ...(o.schedulerId !== undefined ? { schedulerId: o.schedulerId } : {}),
  });
  const ids = new Map(stored.map((s) => [s.slot_key, s.id]));
  const row = (slotKey: string) => {
    const id = ids.get(slotKey);
    return { ...(id !== undefined ? { id } : {}), tenant_id: a.tenant_id, anchor_id: a.anchor_id };
  };
  const byKey = new Map<string, SlotWrite>();
  for (const c of decision.changes) byKey.set(c.slot_key, { ...row(c.slot_key), ...c });
  if (decision.fire.length > 0) {
    const answer = o.fresh?.get(ref);
    if (a.rule?.refresh_url && answer === undefined) {
      const job = refreshJob(a, a.rule.refresh_url, decision.fire, stored);
      out.leases.push(...job.slots);
      result.refresh.push(job);
    } else {
      const payloadText = answer?.kind === 'payload' ? answer.payloadText : a.payload;
      for (const s of decision.fire) {
        const eventId = reminderEventId(a.tenant_id, a.anchor_id, s.key);
        out.events.push(reminderEvent(a, eventId, payloadText, s.late, o.now));
        byKey.set(s.key, {
          ...row(s.key),
          slot_key: s.key,
          due_at: s.at,
          state: 'fired',
          reason: null,
          event_id: eventId,
          fired_at: o.now,
          late: s.late,
        });
        result.fired.push({
          tenant_id: a.tenant_id,
          anchor_id: a.anchor_id,
          slot_key: s.key,
          event_id: eventId,
          event_type: a.event_type,
          due_at: s.at,
          late: s.late,
        });
      }
    }
  }
  for (const w of byKey.values()) {
    if (w.state === 'skipped') result.skipped += 1;
    if (w.state === 'cancelled') result.cancelled += 1;
    out.writes.push(w);
  }
}

/** Due slots of an anchor whose rule asks the producer first: leased while the question is out. */
function refreshJob(
  a: PlanningAnchor,
  url: string,
  due: { key: string; at: Date }[],
  stored: StoredSlot[],
): RefreshJob {
  const refs = due.map((s) => ({ tenant_id: a.tenant_id, anchor_id: a.anchor_id, slot_key: s.key }));
  return {
    key: { tenant_id: a.tenant_id, anchor_id: a.anchor_id },
    question: {
      url,
      tenantId: a.tenant_id,
      anchorId: a.anchor_id,
      eventType: a.event_type,
      subject: a.subject,
      at: a.at,
      slots: due.map((s) => ({ key: s.key, due_at: s.at })),
      payloadText: a.payload,
    },
    slots: refs,
    attempts: Math.max(
      0,
      ...stored.filter((s) => refs.some((r) => r.slot_key === s.slot_key)).map((s) => s.refresh_attempts),
    ),
  };
}

/** The event a fired slot publishes (through publishing/, like every producer's). */
function reminderEvent(
  a: PlanningAnchor,
  eventId: string,
  payloadText: string,
  late: boolean,
  now: Date,
): PublishInput {
  return publishInput({
    tenantId: a.tenant_id,
    id: eventId,
    type: a.event_type,
    payloadJson: firePayload({
      eventType: a.event_type,
      payloadText,
      anchorAt: a.at,
      timeZone: a.time_zone,
      firedAt: now,
      late,
    }),
    channels: a.channels,
    orderingKey: null,
    idempotencyKey: null,
    source: 'reminder',
    createdAt: now,
  });
}

/** The batch's writes, in the caller's transaction: slots, leases, back-offs, then the events. */
async function writeBatch(
  q: Queryable,
  out: BatchWrites,
  o: BatchOptions,
  result: BatchResult,
): Promise<void> {
  await writeSlots(q, out.writes, o.now);
  if (out.leases.length > 0) {
    if (!o.leaseUntil || !o.schedulerId)
      throw new Error('processAnchors: refresh needs leaseUntil and schedulerId');
    await leaseSlots(q, out.leases, o.leaseUntil, o.schedulerId, o.now);
  }
  for (const b of out.backOff) {
    await backOffSlots(q, b.refs, new Date(o.now.getTime() + PLAN_ERROR_BACKOFF_MS), b.error, o.now);
  }
  if (out.events.length > 0) {
    const { outcomes } = await publishEvents(q, out.events);
    for (const outcome of outcomes)
      if (outcome.kind === 'created' || outcome.kind === 'duplicate') result.deliveries += outcome.deliveries;
  }
}

/**
 * Bulk load: inserts anchors (existing ids are left alone) and plans them, in the caller's
 * transaction. For imports and the benchmark; the API writes one anchor at a time.
 */
export async function insertAndPlanAnchors(q: Queryable, anchors: AnchorInput[], now: Date): Promise<number> {
  const keys = await insertAnchors(q, anchors, now);
  await processAnchors(q, keys, { now, fire: false });
  // The operator's bulk load counts toward each tenant's anchors (not held to the quota).
  const perTenant = new Map<string, number>();
  for (const k of keys) perTenant.set(k.tenant_id, (perTenant.get(k.tenant_id) ?? 0) + 1);
  for (const [tenantId, n] of perTenant) await addUsage(q, tenantId, 'anchors', n);
  return keys.length;
}
