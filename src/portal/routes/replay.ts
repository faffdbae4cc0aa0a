// Replay of an endpoint's failed deliveries from the portal: count (a dry run), then confirm.
import type { ApiContext, App } from '../../api/context.js';
import type { EndpointJson } from '../apiTypes.js';
import { field, localTime } from '../form.js';
import { replayConfirmPage } from '../pages/replay.js';
import { signedIn, type Visit } from '../signed.js';

type Params = { eid: string };

export async function replayPages(app: App, ctx: ApiContext): Promise<void> {
  const eidOf = (v: Visit) => (v.req.params as Params).eid;
  const back = (eid: string, q: string) => `/portal/endpoints/${encodeURIComponent(eid)}?${q}#replay`;

  app.get(
    '/endpoints/:eid/replay',
    signedIn(app, ctx, async (v) => {
      const eid = eidOf(v);
      const ep = await v.api.call<EndpointJson>('GET', `${v.api.base}/endpoints/${encodeURIComponent(eid)}`);
      if (!ep.ok) return v.notFound('endpoint');
      const q = v.req.query as Record<string, string | undefined>;
      const choice = { from: q.from ?? '', to: q.to ?? '', tz: q.tz ?? '', type: q.type ?? '' };
      const since = localTime(choice.from, choice.tz);
      const until = choice.to ? localTime(choice.to, choice.tz) : new Date(ctx.clock.now().getTime() + 1000);
      if (!since || !until || since >= until) return v.reply.redirect(back(eid, 'done=replay-window'), 303);
      const r = await v.api.call<{ matched: number }>('POST', `${v.api.base}/deliveries/replay`, {
        endpoint_id: eid,
        since: since.toISOString(),
        until: until.toISOString(),
        ...(choice.type ? { type: choice.type } : {}),
        dry_run: true,
      });
      if (!r.ok) return v.reply.redirect(back(eid, 'done=replay-window'), 303);
      return v.show(
        200,
        'Replay failed deliveries',
        replayConfirmPage(v.session.csrf, ep.body, choice, { since, until }, r.body.matched),
      );
    }),
  );

  app.post(
    '/endpoints/:eid/replay',
    signedIn(app, ctx, async (v) => {
      const eid = eidOf(v);
      const type = field(v.form, 'type');
      const r = await v.api.call<{ queued: number }>('POST', `${v.api.base}/deliveries/replay`, {
        endpoint_id: eid,
        since: field(v.form, 'since'),
        until: field(v.form, 'until'),
        ...(type ? { type } : {}),
      });
      if (!r.ok) {
        if (r.status === 404) return v.notFound('endpoint');
        return v.reply.redirect(back(eid, 'done=replay-window'), 303);
      }
      return v.reply.redirect(back(eid, `done=replayed&n=${r.body.queued}`), 303);
    }),
  );
}
