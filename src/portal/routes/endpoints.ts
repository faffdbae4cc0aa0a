// Endpoint pages: list, create, edit, enable/disable, delete, secret, test event, recover.
// Every read and write is an API call made as the session (see apiClient.ts).
import type { ApiContext, App } from '../../api/context.js';
import { takesType } from '../../api/routes/portalTestEvents.js';
import { PROFILE_NAMES } from '../../delivery/profiles/index.js';
import type { DeliveryJson, EndpointDefaultsJson, EndpointJson, EventTypeJson, Page } from '../apiTypes.js';
import { type EndpointFormValues, endpointBody, endpointFormValues, field, localTime } from '../form.js';
import type { Flash } from '../layout.js';
import { deleteEndpointPage, endpointPage, type FilterEdit, type LogFilter } from '../pages/endpoint.js';
import { endpointFormPage } from '../pages/endpointForm.js';
import type { StatsJson } from '../pages/endpointStats.js';
import { endpointsPage } from '../pages/endpoints.js';
import { signedIn, type Visit, type VisitHandler } from '../signed.js';

const DONE: Record<string, string> = {
  created: 'Endpoint created. Reveal its signing secret below to verify what it receives.',
  saved: 'Changes saved.',
  deleted: 'Endpoint deleted.',
  enabled: 'Endpoint enabled: deliveries that waited while it was disabled are on their way.',
  disabled: 'Endpoint disabled: its events are kept until you enable it again.',
  rotated: 'A new signing secret is in use. The previous one keeps signing beside it for a grace period.',
  resent: 'Queued for another attempt.',
  recovered: 'Failed deliveries queued again.',
  'replay-window': 'Choose the window to replay: a start time, before its end.',
  'test-sent': 'Test event sent.',
  'filter-saved': 'Payload filter saved: from now on only matching events are delivered here.',
};

export function doneFlash(query: unknown): Flash | undefined {
  const { done, n } = query as { done?: unknown; n?: unknown };
  if (done === 'replayed' && typeof n === 'string' && /^\d{1,9}$/.test(n)) {
    const count = Number(n);
    return { kind: 'ok', text: `${count} failed ${count === 1 ? 'delivery' : 'deliveries'} queued again.` };
  }
  if (done === 'recovered' && typeof n === 'string' && /^\d{1,9}$/.test(n)) {
    const count = Number(n);
    return {
      kind: 'ok',
      text:
        count === 0
          ? 'No failed deliveries since then.'
          : `${count} failed ${count === 1 ? 'delivery' : 'deliveries'} queued again.`,
    };
  }
  const text = typeof done === 'string' ? DONE[done] : undefined;
  return text ? { kind: 'ok', text } : undefined;
}

type Params = { eid: string };

/** The chart's window: the 7 days of hours up to the current one. */
function lastWeek(now: Date): string {
  const until = Math.floor(now.getTime() / 3_600_000) * 3_600_000 + 3_600_000;
  const since = until - 7 * 24 * 3_600_000;
  return new URLSearchParams({
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    bucket: 'hour',
  }).toString();
}

export async function endpointPages(app: App, ctx: ApiContext): Promise<void> {
  const route = (h: VisitHandler) => signedIn(app, ctx, h);
  const eidOf = (v: Visit) => (v.req.params as Params).eid;
  const epPath = (v: Visit, eid: string) => `${v.api.base}/endpoints/${encodeURIComponent(eid)}`;

  async function catalog(v: Visit): Promise<EventTypeJson[]> {
    const r = await v.api.call<{ data: EventTypeJson[] }>('GET', '/v1/event-types');
    return r.ok ? r.body.data : [];
  }

  /** The catalog's endpoint defaults (the profile to preselect, or the one fixed). */
  async function defaults(v: Visit): Promise<EndpointDefaultsJson> {
    const r = await v.api.call<EndpointDefaultsJson>('GET', `${v.api.base}/endpoint-defaults`);
    return r.ok ? r.body : { profile: 'standard', locked: false, catalog: null };
  }

  async function showForm(
    v: Visit,
    status: number,
    values: EndpointFormValues,
    editing?: { id: string; maskedHeaders: Record<string, string> },
    problem?: string,
  ) {
    const d = await defaults(v);
    return v.show(
      status,
      editing ? 'Edit endpoint' : 'Add endpoint',
      endpointFormPage({
        csrf: v.session.csrf,
        catalog: await catalog(v),
        profiles: PROFILE_NAMES,
        // Fixed: a new endpoint gets the catalog's; an existing one keeps its own.
        ...(d.locked ? { lockedProfile: editing ? values.profile : d.profile } : {}),
        values,
        ...(editing ? { editing } : {}),
        problem,
      }),
    );
  }

  /** The endpoint page, with the log filtered as the query says. */
  async function showEndpoint(
    v: Visit,
    eid: string,
    extra: { status?: number; flash?: Flash; secret?: string; filterEdit?: FilterEdit } = {},
  ) {
    const ep = await v.api.call<EndpointJson>('GET', epPath(v, eid));
    if (!ep.ok) return v.notFound('endpoint');
    const q = v.req.query as Record<string, string | undefined>;
    const filter: LogFilter = {
      failed: q.failed === '1',
      type: q.type ?? '',
      from: q.from ?? '',
      to: q.to ?? '',
      tz: q.tz ?? '',
    };
    const query = new URLSearchParams({ limit: '25' });
    if (filter.failed) query.set('failed', 'true');
    if (filter.type) query.set('event_type', filter.type);
    const from = localTime(filter.from, filter.tz);
    const to = localTime(filter.to, filter.tz);
    if (from) query.set('created_after', from.toISOString());
    if (to) query.set('created_before', to.toISOString());
    if (q.cursor) query.set('cursor', q.cursor);
    const log = await v.api.call<Page<DeliveryJson>>('GET', `${epPath(v, eid)}/deliveries?${query}`);
    const types = await catalog(v);
    const typeNames = [...new Set([...types.map((t) => t.name), 'tidings.test'])].sort();
    const stats = await v.api.call<StatsJson>('GET', `${epPath(v, eid)}/stats?${lastWeek(ctx.clock.now())}`);
    const subscribed = subscribedTypes(types, ep.body);
    return v.show(
      extra.status ?? 200,
      ep.body.url,
      endpointPage({
        csrf: v.session.csrf,
        apiBase: v.api.base,
        endpoint: ep.body,
        typeNames,
        log: log.ok ? log.body : { problem: log.error.message },
        filter,
        revealedSecret: extra.secret,
        stats: stats.ok ? stats.body : { problem: stats.error.message },
        subscribed: subscribed.map((t) => t.name),
        filterEdit: extra.filterEdit ?? {
          text: ep.body.filter ? JSON.stringify(ep.body.filter, null, 2) : '',
          sampleType: subscribed[0]?.name ?? '',
          sample: exampleText(subscribed[0]),
        },
      }),
      extra.flash ?? doneFlash(v.req.query),
    );
  }

  /** The API said no: a missing endpoint is "not found", anything else is shown on its page. */
  function refused(v: Visit, eid: string, r: { status: number; error: { message: string } }) {
    if (r.status === 404) return v.notFound('endpoint');
    return showEndpoint(v, eid, { status: r.status, flash: { kind: 'error', text: r.error.message } });
  }

  app.get(
    '/',
    route(async (v) => {
      const cursor = (v.req.query as { cursor?: string }).cursor;
      const qs = new URLSearchParams({ limit: '50', ...(cursor ? { cursor } : {}) });
      const r = await v.api.call<Page<EndpointJson>>('GET', `${v.api.base}/endpoints?${qs}`);
      if (!r.ok) {
        return v.show(r.status, 'Webhook endpoints', endpointsPage([], null), {
          kind: 'error',
          text: r.error.message,
        });
      }
      return v.show(
        200,
        'Webhook endpoints',
        endpointsPage(r.body.data, r.body.next_cursor),
        doneFlash(v.req.query),
      );
    }),
  );

  app.get(
    '/endpoints/new',
    route(async (v) => showForm(v, 200, { ...endpointFormValues({}), profile: (await defaults(v)).profile })),
  );

  app.post(
    '/endpoints',
    route(async (v) => {
      const values = endpointFormValues(v.form);
      const body = endpointBody(values, undefined, (await defaults(v)).locked);
      if (!body.ok) return showForm(v, 422, values, undefined, body.problem);
      const r = await v.api.call<EndpointJson>('POST', `${v.api.base}/endpoints`, body.body);
      if (!r.ok) return showForm(v, r.status, values, undefined, r.error.message);
      return v.reply.redirect(`/portal/endpoints/${encodeURIComponent(r.body.id)}?done=created`, 303);
    }),
  );

  app.get(
    '/endpoints/:eid',
    route((v) => showEndpoint(v, eidOf(v))),
  );

  app.get(
    '/endpoints/:eid/edit',
    route(async (v) => {
      const ep = await v.api.call<EndpointJson>('GET', epPath(v, eidOf(v)));
      if (!ep.ok) return v.notFound('endpoint');
      const e = ep.body;
      const values: EndpointFormValues = {
        url: e.url,
        description: e.description,
        typesMode: e.event_types === null ? 'default' : 'chosen',
        eventTypes: e.event_types ?? [],
        channels: (e.channels ?? []).join('\n'),
        profile: e.profile,
        headerName: Object.keys(e.headers)[0] ?? '',
        headerValue: '',
        headerRemove: false,
      };
      return showForm(v, 200, values, { id: e.id, maskedHeaders: e.headers });
    }),
  );

  app.post(
    '/endpoints/:eid',
    route(async (v) => {
      const eid = eidOf(v);
      const ep = await v.api.call<EndpointJson>('GET', epPath(v, eid));
      if (!ep.ok) return v.notFound('endpoint');
      const editing = { id: eid, maskedHeaders: ep.body.headers };
      const values = endpointFormValues(v.form);
      const body = endpointBody(
        values,
        { headerNames: Object.keys(ep.body.headers) },
        (await defaults(v)).locked,
      );
      if (!body.ok) return showForm(v, 422, values, editing, body.problem);
      const r = await v.api.call<EndpointJson>('PATCH', epPath(v, eid), body.body);
      if (!r.ok) return showForm(v, r.status, values, editing, r.error.message);
      return v.reply.redirect(`/portal/endpoints/${encodeURIComponent(eid)}?done=saved`, 303);
    }),
  );

  for (const action of ['enable', 'disable'] as const) {
    app.post(
      `/endpoints/:eid/${action}`,
      route(async (v) => {
        const eid = eidOf(v);
        const r = await v.api.call('PATCH', epPath(v, eid), { disabled: action === 'disable' });
        if (!r.ok) return refused(v, eid, r);
        return v.reply.redirect(`/portal/endpoints/${encodeURIComponent(eid)}?done=${action}d`, 303);
      }),
    );
  }

  app.get(
    '/endpoints/:eid/delete',
    route(async (v) => {
      const ep = await v.api.call<EndpointJson>('GET', epPath(v, eidOf(v)));
      if (!ep.ok) return v.notFound('endpoint');
      return v.show(200, 'Delete endpoint', deleteEndpointPage(v.session.csrf, ep.body));
    }),
  );

  app.post(
    '/endpoints/:eid/delete',
    route(async (v) => {
      const r = await v.api.call('DELETE', epPath(v, eidOf(v)));
      if (!r.ok) return refused(v, eidOf(v), r);
      return v.reply.redirect('/portal?done=deleted', 303);
    }),
  );

  // Reveal without the page script: the secret is shown in the answer to a POST, so it is
  // never in a URL, the history or a cache (pages are no-store).
  app.post(
    '/endpoints/:eid/secret',
    route(async (v) => {
      const r = await v.api.call<{ secret: string }>('GET', `${epPath(v, eidOf(v))}/secret`);
      if (!r.ok) return v.notFound('endpoint');
      return showEndpoint(v, eidOf(v), { secret: r.body.secret });
    }),
  );

  app.post(
    '/endpoints/:eid/rotate',
    route(async (v) => {
      const eid = eidOf(v);
      const r = await v.api.call('POST', `${epPath(v, eid)}/secret/rotate`, {});
      if (!r.ok) return refused(v, eid, r);
      return v.reply.redirect(`/portal/endpoints/${encodeURIComponent(eid)}?done=rotated`, 303);
    }),
  );

  // The filter form: try the filter on a sample payload (the type's example, or edited), or save it.
  app.post(
    '/endpoints/:eid/filter',
    route(async (v) => {
      const eid = eidOf(v);
      const action = field(v.form, 'action');
      const edit: FilterEdit = {
        text: field(v.form, 'filter'),
        sampleType: field(v.form, 'sample_type'),
        sample: field(v.form, 'sample'),
      };
      if (action === 'example') {
        const t = (await catalog(v)).find((x) => x.name === edit.sampleType);
        return showEndpoint(v, eid, { filterEdit: { ...edit, sample: exampleText(t) } });
      }
      const filter = parseJsonField(edit.text, 'The filter', true);
      if (!filter.ok)
        return showEndpoint(v, eid, {
          status: 422,
          filterEdit: { ...edit, result: { problem: filter.problem } },
        });
      if (action === 'save') {
        const r = await v.api.call('PATCH', epPath(v, eid), { filter: filter.value });
        if (!r.ok) {
          if (r.status === 404) return v.notFound('endpoint');
          return showEndpoint(v, eid, {
            status: r.status,
            filterEdit: { ...edit, result: { problem: r.error.message } },
          });
        }
        return v.reply.redirect(`/portal/endpoints/${encodeURIComponent(eid)}?done=filter-saved#filter`, 303);
      }
      const sample = parseJsonField(edit.sample, 'The sample payload', false);
      if (!sample.ok)
        return showEndpoint(v, eid, {
          status: 422,
          filterEdit: { ...edit, result: { problem: sample.problem } },
        });
      const r = await v.api.call<{ matches: boolean }>('POST', `${epPath(v, eid)}/filter/test`, {
        filter: filter.value,
        payload: sample.value,
      });
      if (!r.ok) {
        if (r.status === 404) return v.notFound('endpoint');
        return showEndpoint(v, eid, {
          status: r.status,
          filterEdit: { ...edit, result: { problem: r.error.message } },
        });
      }
      return showEndpoint(v, eid, { filterEdit: { ...edit, result: { matches: r.body.matches } } });
    }),
  );

  app.post(
    '/endpoints/:eid/test',
    route(async (v) => {
      const eid = eidOf(v);
      const type = field(v.form, 'type');
      const r = await v.api.call<{ delivery_id: string }>(
        'POST',
        `${epPath(v, eid)}/test`,
        type ? { type } : undefined,
      );
      if (!r.ok) return refused(v, eid, r);
      return v.reply.redirect(
        `/portal/deliveries/${encodeURIComponent(r.body.delivery_id)}?done=test-sent`,
        303,
      );
    }),
  );

  app.post(
    '/endpoints/:eid/recover',
    route(async (v) => {
      const eid = eidOf(v);
      const since = localTime(field(v.form, 'since'), field(v.form, 'tz'));
      if (!since) {
        return showEndpoint(v, eid, {
          status: 422,
          flash: { kind: 'error', text: 'Give the time to recover from.' },
        });
      }
      const until = localTime(field(v.form, 'until'), field(v.form, 'tz'));
      const r = await v.api.call<{ requeued?: number }>('POST', `${epPath(v, eid)}/recover`, {
        since: since.toISOString(),
        ...(until ? { until: until.toISOString() } : {}),
      });
      if (!r.ok) return refused(v, eid, r);
      const n = typeof r.body?.requeued === 'number' ? `&n=${r.body.requeued}` : '';
      return v.reply.redirect(
        `/portal/endpoints/${encodeURIComponent(eid)}?done=recovered${n}#deliveries`,
        303,
      );
    }),
  );
}

/** The catalog types an endpoint subscribes to (its list, or the default-enabled ones), tidings.test aside. */
function subscribedTypes(types: EventTypeJson[], ep: EndpointJson): EventTypeJson[] {
  return types.filter(
    (t) =>
      t.name !== 'tidings.test' &&
      takesType(ep.event_types, { name: t.name, default_enabled: t.default_enabled }),
  );
}

function exampleText(t: EventTypeJson | undefined): string {
  const example = t?.examples?.[0];
  return example === undefined ? '{}' : JSON.stringify(example, null, 2);
}

/** A JSON text typed in a form; an empty filter means none. */
function parseJsonField(
  text: string,
  what: string,
  emptyIsNull: boolean,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  if (text.trim() === '')
    return emptyIsNull ? { ok: true, value: null } : { ok: false, problem: `${what} is empty.` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problem: `${what} is not valid JSON: ${(err as Error).message}` };
  }
}
