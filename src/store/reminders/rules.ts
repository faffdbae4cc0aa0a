// Reminder rules: when, for one event type and tenant (optionally one subject), reminders fire.
import type { Queryable } from '../db.js';
import { decodeCursor, type Page, pageOf } from '../page.js';
import { RULE_COLUMNS, type RuleInput, type StoredRule } from './types.js';

export async function putRule(
  q: Queryable,
  r: RuleInput,
  now: Date,
): Promise<{ rule: StoredRule; created: boolean }> {
  const rows = await q.query<StoredRule & { created: boolean }>(
    `INSERT INTO reminder_rules (tenant_id, event_type, subject, offsets, periodic_interval, business_days,
                                 refresh_url, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
     ON CONFLICT (tenant_id, event_type, subject) DO UPDATE SET
       offsets = EXCLUDED.offsets, periodic_interval = EXCLUDED.periodic_interval,
       business_days = EXCLUDED.business_days, refresh_url = EXCLUDED.refresh_url, updated_at = EXCLUDED.updated_at
     RETURNING ${RULE_COLUMNS}, (xmax = 0) AS created`,
    [
      r.tenant_id,
      r.event_type,
      r.subject,
      r.offsets,
      r.periodic_interval,
      r.business_days,
      r.refresh_url,
      now,
    ],
  );
  const { created, ...rule } = rows[0]!;
  return { rule, created };
}

export async function getRule(
  q: Queryable,
  tenantId: string,
  eventType: string,
  subject: string,
): Promise<StoredRule | undefined> {
  const rows = await q.query<StoredRule>(
    `SELECT ${RULE_COLUMNS} FROM reminder_rules WHERE tenant_id = $1 AND event_type = $2 AND subject = $3`,
    [tenantId, eventType, subject],
  );
  return rows[0];
}

/** A tenant's rules; `subject` '' lists the defaults only, undefined lists all. */
export async function listRules(
  q: Queryable,
  tenantId: string,
  filter: { eventType?: string; subject?: string },
): Promise<StoredRule[]> {
  return q.query<StoredRule>(
    `SELECT ${RULE_COLUMNS} FROM reminder_rules
     WHERE tenant_id = $1 AND ($2::text IS NULL OR event_type = $2) AND ($3::text IS NULL OR subject = $3)
     ORDER BY event_type, subject`,
    [tenantId, filter.eventType ?? null, filter.subject ?? null],
  );
}

/**
 * A page of a tenant's rules in (event_type, subject) order, through the primary key; the
 * tenant defaults alone when `defaultsOnly` (subject '').
 */
export async function listRulesPage(
  q: Queryable,
  tenantId: string,
  filter: { eventType?: string; subject?: string; defaultsOnly?: boolean },
  limit: number,
  cursor?: string,
): Promise<Page<StoredRule> | undefined> {
  let after: (string | number)[] | undefined;
  if (cursor) {
    after = decodeCursor(cursor, ['string', 'string']);
    if (!after) return undefined;
  }
  const subject = filter.defaultsOnly ? '' : (filter.subject ?? null);
  const rows = await q.query<StoredRule>(
    `SELECT ${RULE_COLUMNS} FROM reminder_rules
     WHERE tenant_id = $1 AND ($2::text IS NULL OR event_type = $2) AND ($3::text IS NULL OR subject = $3)
       AND ($4::text IS NULL OR (event_type, subject) > ($4, $5::text))
     ORDER BY event_type, subject LIMIT $6`,
    [tenantId, filter.eventType ?? null, subject, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
  return pageOf(rows, limit, (r) => [r.event_type, r.subject]);
}

export async function deleteRule(
  q: Queryable,
  tenantId: string,
  eventType: string,
  subject: string,
): Promise<boolean> {
  const rows = await q.query(
    'DELETE FROM reminder_rules WHERE tenant_id = $1 AND event_type = $2 AND subject = $3 RETURNING 1',
    [tenantId, eventType, subject],
  );
  return rows.length > 0;
}
