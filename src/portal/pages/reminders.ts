// Reminder settings: for each reminder event type of the catalog, when the tenant wants it
// (offsets from the anchor, or a periodic interval), as the tenant's default rule.
import { PERIODIC_INTERVALS } from '../../scheduler/offsets.js';
import type { EventTypeJson } from '../apiTypes.js';
import { type Html, html } from '../html.js';
import { csrfField } from '../layout.js';

export interface RuleJson {
  event_type: string;
  subject: string | null;
  offsets: string[];
  periodic_interval: string | null;
  mode: string;
}

const EVERY: Record<string, string> = { HOURLY: 'hour', DAILY: 'day', WEEKLY: 'week', MONTHLY: 'month' };

export interface ReminderTypeProblem {
  eventType: string;
  message: string;
  /** What was typed, shown back. */
  mode: string;
  offsets: string;
  periodic: string;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function describeRule(rule: RuleJson | undefined, anchor: string): string {
  if (!rule) return 'Off: no reminders are sent for this type.';
  if (rule.periodic_interval)
    return `Every ${EVERY[rule.periodic_interval] ?? rule.periodic_interval}, while it lasts.`;
  if (rule.offsets.length === 0) return `Once, at the ${anchor}.`;
  return `At ${rule.offsets.join(', ')} from the ${anchor}.`;
}

function typeCard(
  csrf: string,
  t: EventTypeJson,
  rule: RuleJson | undefined,
  subjectRules: number,
  p?: ReminderTypeProblem,
): Html {
  const r = t.reminder ?? {};
  const periodicAllowed = r.periodic === true;
  const id = t.name.replace(/[^A-Za-z0-9_-]/g, '-');
  const mode =
    p?.mode ??
    (rule
      ? rule.periodic_interval
        ? 'periodic'
        : rule.offsets.length > 0
          ? 'offsets'
          : 'at_anchor'
      : 'offsets');
  const offsets = p?.offsets ?? rule?.offsets.join(', ') ?? '';
  const periodic = p?.periodic ?? rule?.periodic_interval ?? 'DAILY';
  return html`<section class="card" aria-labelledby="rem-${id}">
  <h2 id="rem-${id}"><code>${t.name}</code></h2>
  ${t.description ? html`<p>${t.description}</p>` : ''}
  <dl class="props">
    <dt>Counted from</dt><dd>${text(r.anchor) ?? 'the anchor'}</dd>
    ${typeof r.window === 'string' ? html`<dt>Window</dt><dd>${r.window}</dd>` : ''}
    ${text(r.resolved_by) ? html`<dt>Stops when</dt><dd>${text(r.resolved_by)}</dd>` : ''}
    <dt>Now</dt><dd data-rule="${t.name}">${describeRule(rule, text(r.anchor) ?? 'anchor')}</dd>
    ${subjectRules > 0 ? html`<dt>Own settings</dt><dd>${subjectRules} individual ${subjectRules === 1 ? 'subject has' : 'subjects have'} their own rule (set through the API).</dd>` : ''}
  </dl>
  ${p ? html`<p class="flash flash-error" role="alert">${p.message}</p>` : ''}
  <form method="post" action="/portal/reminders" class="form">
    ${csrfField(csrf)}<input type="hidden" name="event_type" value="${t.name}">
    <fieldset class="field">
      <legend>Send it</legend>
      <label class="choice"><input type="radio" name="mode" value="offsets"${mode === 'offsets' ? html` checked` : ''}> At these times from the moment</label>
      <div class="field indent">
        <label for="off-${id}">Offsets</label>
        <input id="off-${id}" name="offsets" value="${offsets}" aria-describedby="off-hint-${id}" spellcheck="false">
        <p class="hint" id="off-hint-${id}">Comma-separated, for example ${r.negative_offsets === true ? '“-5 days, -1 day, 2 hours”' : '“1 day, 5 days”'}.
        ${r.negative_offsets === true ? 'Negative offsets are before the moment.' : 'Only times after the moment.'}</p>
      </div>
      <label class="choice"><input type="radio" name="mode" value="at_anchor"${mode === 'at_anchor' ? html` checked` : ''}> Once, at the moment itself</label>
      ${
        periodicAllowed
          ? html`<label class="choice"><input type="radio" name="mode" value="periodic"${mode === 'periodic' ? html` checked` : ''}> Repeatedly</label>
      <div class="field indent">
        <label for="per-${id}">Interval</label>
        <select id="per-${id}" name="periodic">${PERIODIC_INTERVALS.map(
          (i) =>
            html`<option value="${i}"${i === periodic ? html` selected` : ''}>${i.charAt(0) + i.slice(1).toLowerCase()}</option>`,
        )}</select>
      </div>`
          : ''
      }
    </fieldset>
    <div class="actions"><button type="submit" class="primary">Save</button>${
      rule ? html` <button type="submit" formaction="/portal/reminders/delete">Turn off</button>` : ''
    }</div>
  </form>
</section>`;
}

export function remindersPage(
  csrf: string,
  types: EventTypeJson[],
  rules: RuleJson[],
  problem?: ReminderTypeProblem,
): Html {
  const reminderTypes = types.filter((t) => t.reminder);
  return html`<div class="page-head"><h1>Reminders</h1></div>
<p>Reminders are webhooks sent because time passed: before a due date, after a missed payment, every day while an account is late.
Choose when each is sent to you.</p>
${
  reminderTypes.length === 0
    ? html`<section class="card empty"><p>None of the event types on offer are reminders.</p></section>`
    : reminderTypes.map((t) =>
        typeCard(
          csrf,
          t,
          rules.find((r) => r.event_type === t.name && r.subject === null),
          rules.filter((r) => r.event_type === t.name && r.subject !== null).length,
          problem?.eventType === t.name ? problem : undefined,
        ),
      )
}`;
}
