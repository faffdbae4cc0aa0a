// Reminder rules as the API writes them: checked against the catalog's reminder settings,
// saved, and the anchors they govern re-planned in the same transaction. Shared by the
// reminder-rules routes and Canopy's notification_config.
import { Type } from 'typebox';
import { processAnchors } from '../scheduler/planner.js';
import {
  type ReminderRule,
  type ReminderSettings,
  type RuleInput,
  validateRule,
} from '../scheduler/rules.js';
import { readReminderSettings } from '../scheduler/settings.js';
import type { Queryable } from '../store/db.js';
import { addUsage } from '../store/quotas.js';
import { lockAnchorsOfRule } from '../store/reminders/anchors.js';
import { deleteRule, getRule, putRule } from '../store/reminders/rules.js';
import type { AnchorKey, StoredRule } from '../store/reminders/types.js';
import type { Principal } from './auth.js';
import type { ApiContext } from './context.js';
import { ApiError, unprocessable } from './errors.js';
import { countCreated } from './quotas.js';
import { checkTargetUrl } from './targetUrl.js';

/** Anchors re-planned per batch when a rule or calendar changes. */
const REPLAN_CHUNK = 500;

/** A rule as the API shows it; its refresh_url (the operator's own system) to the operator only. */
export function ruleView(r: StoredRule, principal: Principal | null) {
  return {
    event_type: r.event_type,
    subject: r.subject === '' ? null : r.subject,
    offsets: r.offsets,
    periodic_interval: r.periodic_interval,
    business_days: r.business_days,
    ...(principal?.kind === 'admin' ? { refresh_url: r.refresh_url } : {}),
    mode: r.periodic_interval ? 'periodic' : r.offsets.length > 0 ? 'offsets' : 'at_anchor',
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** The type's reminder settings, or 422 naming what is wrong. */
export async function reminderSettingsOf(ctx: ApiContext, type: string): Promise<ReminderSettings> {
  const compiled = (await ctx.eventTypes.get([type])).get(type);
  if (!compiled) throw unprocessable('unknown_event_type', `"${type}" is not in the catalog.`, { type });
  const settings = readReminderSettings(compiled.type.reminder);
  if (!settings) {
    throw unprocessable(
      'not_a_reminder_type',
      `"${type}" is not a reminder type: its catalog entry has no "reminder" settings.`,
      { type },
    );
  }
  return settings;
}

/** validateRule, with its message as a 422. */
export function checkRule(input: RuleInput, settings: ReminderSettings, type: string): ReminderRule {
  const r = validateRule(input, settings, type);
  if (!r.ok) throw unprocessable('invalid_rule', r.message, { event_type: type });
  return r.rule;
}

/**
 * refresh_url belongs to the operator: the producer's answer decides a reminder's payload and
 * can resolve the anchor, so a tenant that could point it at its own server could have
 * Tidings sign operator-typed events with its own content and stop the operator's reminders
 * (issue 13). A tenant token may not set it (403); its rule keeps what the operator set.
 */
export function checkRefreshUrl(
  ctx: ApiContext,
  principal: Principal | null,
  url: string | null | undefined,
): void {
  if (url !== undefined && principal?.kind !== 'admin') {
    throw new ApiError(
      403,
      'operator_only_field',
      'refresh_url is set by the operator (it decides what a reminder carries); leave it out.',
      { field: 'refresh_url' },
    );
  }
  if (url == null) return;
  const problem = checkTargetUrl(url, ctx.config);
  if (problem) throw unprocessable('invalid_refresh_url', `refresh_url: ${problem}`);
}

/** The canonical offset texts a rule stores: what the tenant wrote, without the implicit "0 days". */
export function storedOffsets(input: RuleInput, rule: ReminderRule): string[] {
  return (input.offsets ?? []).length === 0 ? [] : rule.offsets.map((o) => o.text);
}

/** Re-plans anchors (already locked by the caller) in chunks, inside the caller's transaction. */
export async function replan(q: Queryable, keys: AnchorKey[], now: Date): Promise<number> {
  for (let i = 0; i < keys.length; i += REPLAN_CHUNK) {
    await processAnchors(q, keys.slice(i, i + REPLAN_CHUNK), { now, fire: false });
  }
  return keys.length;
}

/**
 * Writes a rule and re-plans the anchors it governs, in one transaction. A refresh_url left
 * undefined keeps the stored rule's (a tenant's write: see checkRefreshUrl).
 */
export async function saveRule(
  ctx: ApiContext,
  input: Omit<StoredRule, 'created_at' | 'updated_at' | 'refresh_url'> & { refresh_url?: string | null },
): Promise<{ rule: StoredRule; created: boolean; replanned: number }> {
  const now = ctx.clock.now();
  return ctx.db.tx(async (q) => {
    const keys = await lockAnchorsOfRule(q, input.tenant_id, input.event_type, input.subject);
    const refreshUrl =
      input.refresh_url !== undefined
        ? input.refresh_url
        : ((await getRule(q, input.tenant_id, input.event_type, input.subject))?.refresh_url ?? null);
    const rule = { ...input, refresh_url: refreshUrl };
    const saved = await putRule(q, rule, now);
    const replanned = await replan(q, keys, now);
    if (saved.created) await countCreated(q, ctx, 'reminder_rules', rule.tenant_id);
    return { ...saved, replanned };
  });
}

/** Deletes a rule and re-plans the anchors it governed (they fall back to the default, or stop). */
export async function removeRule(
  ctx: ApiContext,
  tenantId: string,
  eventType: string,
  subject: string,
): Promise<boolean> {
  const now = ctx.clock.now();
  return ctx.db.tx(async (q) => {
    const keys = await lockAnchorsOfRule(q, tenantId, eventType, subject);
    const deleted = await deleteRule(q, tenantId, eventType, subject);
    if (deleted) {
      await replan(q, keys, now);
      await addUsage(q, tenantId, 'reminder_rules', -1);
    }
    return deleted;
  });
}

/** Who a rule or an anchor is about (an account, a loan); a rule without one is the tenant's default. */
export const Subject = Type.String({ minLength: 1, maxLength: 200 });
export const EventTypeName = Type.String({ minLength: 1, maxLength: 128 });
