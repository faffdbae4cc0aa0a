// Reminder rules as the API writes them: checked against the catalog's reminder settings,
// saved, and the anchors they govern re-planned in the same transaction. Shared by the
// reminder-rules routes and Canopy's notification_config.
import { processAnchors } from '../scheduler/planner.js';
import {
  type ReminderRule,
  type ReminderSettings,
  type RuleInput,
  validateRule,
} from '../scheduler/rules.js';
import { readReminderSettings } from '../scheduler/settings.js';
import type { Queryable } from '../store/db.js';
import {
  type AnchorKey,
  deleteRule,
  lockAnchorsOfRule,
  putRule,
  type StoredRule,
} from '../store/reminders.js';
import type { ApiContext } from './context.js';
import { unprocessable } from './errors.js';
import { checkTargetUrl } from './targetUrl.js';

/** Anchors re-planned per batch when a rule or calendar changes. */
const REPLAN_CHUNK = 500;

export function ruleView(r: StoredRule) {
  return {
    event_type: r.event_type,
    subject: r.subject === '' ? null : r.subject,
    offsets: r.offsets,
    periodic_interval: r.periodic_interval,
    business_days: r.business_days,
    refresh_url: r.refresh_url,
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

export function checkRefreshUrl(ctx: ApiContext, url: string | null | undefined): void {
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

/** Writes a rule and re-plans the anchors it governs, in one transaction. */
export async function saveRule(
  ctx: ApiContext,
  rule: Omit<StoredRule, 'created_at' | 'updated_at'>,
): Promise<{ rule: StoredRule; created: boolean; replanned: number }> {
  const now = ctx.clock.now();
  return ctx.db.tx(async (q) => {
    const keys = await lockAnchorsOfRule(q, rule.tenant_id, rule.event_type, rule.subject);
    const saved = await putRule(q, rule, now);
    return { ...saved, replanned: await replan(q, keys, now) };
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
    if (deleted) await replan(q, keys, now);
    return deleted;
  });
}
