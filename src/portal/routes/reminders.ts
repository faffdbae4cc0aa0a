// Reminder settings pages, through /v1/tenants/{tid}/reminder-rules.
import type { ApiContext, App } from '../../api/context.js';
import type { EventTypeJson } from '../apiTypes.js';
import { field } from '../form.js';
import { type ReminderTypeProblem, type RuleJson, remindersPage } from '../pages/reminders.js';
import { signedIn, type Visit } from '../signed.js';

export async function reminderPages(app: App, ctx: ApiContext): Promise<void> {
  async function show(v: Visit, status = 200, problem?: ReminderTypeProblem, done?: string) {
    const [types, rules] = await Promise.all([
      v.api.call<{ data: EventTypeJson[] }>('GET', '/v1/event-types'),
      v.api.call<{ data: RuleJson[] }>('GET', `${v.api.base}/reminder-rules?defaults=true&limit=250`),
    ]);
    return v.show(
      status,
      'Reminders',
      remindersPage(
        v.session.csrf,
        types.ok ? types.body.data : [],
        rules.ok ? rules.body.data : [],
        problem,
      ),
      done ? { kind: 'ok', text: done } : undefined,
    );
  }

  app.get(
    '/reminders',
    signedIn(app, ctx, (v) =>
      show(
        v,
        200,
        undefined,
        (v.req.query as { done?: string }).done === 'saved' ? 'Reminder settings saved.' : undefined,
      ),
    ),
  );

  app.post(
    '/reminders',
    signedIn(app, ctx, async (v) => {
      const eventType = field(v.form, 'event_type');
      const mode = field(v.form, 'mode');
      const offsets = field(v.form, 'offsets');
      const periodic = field(v.form, 'periodic');
      const body: Record<string, unknown> = { event_type: eventType };
      if (mode === 'periodic') body.periodic_interval = periodic;
      else if (mode === 'offsets') {
        body.offsets = offsets
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);
      }
      // Keep what the portal does not edit as it is: business days; the refresh URL is the
      // operator's and a tenant's write keeps it by itself.
      const current = await v.api.call<{ data: (RuleJson & Record<string, unknown>)[] }>(
        'GET',
        `${v.api.base}/reminder-rules?defaults=true&event_type=${encodeURIComponent(eventType)}`,
      );
      const mine = current.ok ? current.body.data.find((r) => r.subject === null) : undefined;
      if (mine?.business_days) body.business_days = mine.business_days;
      const r = await v.api.call('PUT', `${v.api.base}/reminder-rules`, body);
      if (!r.ok) return show(v, r.status, { eventType, message: r.error.message, mode, offsets, periodic });
      return v.reply.redirect('/portal/reminders?done=saved', 303);
    }),
  );

  app.post(
    '/reminders/delete',
    signedIn(app, ctx, async (v) => {
      const eventType = field(v.form, 'event_type');
      await v.api.call('DELETE', `${v.api.base}/reminder-rules?event_type=${encodeURIComponent(eventType)}`);
      return v.reply.redirect('/portal/reminders?done=saved', 303);
    }),
  );
}
