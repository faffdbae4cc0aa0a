// One endpoint: health, secret (reveal, rotate), test event, configuration, delivery log
// with filters, resend, recover.
import type { DeliveryJson, EndpointJson, Page } from '../apiTypes.js';
import { type Html, html } from '../html.js';
import { csrfField, stateBadge, time } from '../layout.js';
import { certificateLine, destinationLabel } from './destination.js';
import { type StatsJson, statsChart } from './endpointStats.js';
import { healthLine } from './endpoints.js';
import { replaySection } from './replay.js';

export interface LogFilter {
  failed: boolean;
  type: string;
  from: string;
  to: string;
  tz: string;
}

export interface EndpointPageOptions {
  csrf: string;
  apiBase: string;
  endpoint: EndpointJson;
  /** Event type names offered by the log's type filter. */
  typeNames: string[];
  log: Page<DeliveryJson> | { problem: string };
  filter: LogFilter;
  revealedSecret?: string | undefined;
  /** The last 7 days, per hour (absent: not shown). */
  stats?: StatsJson | { problem: string };
  /** Catalog types the endpoint subscribes to: test events and filter samples (issue 15). */
  subscribed: string[];
  filterEdit: FilterEdit;
}

/** The payload filter form: as typed, the sample it is tried on, and the last try's result. */
export interface FilterEdit {
  text: string;
  sampleType: string;
  sample: string;
  result?: { matches: boolean } | { problem: string };
}

function filterResult(r: FilterEdit['result']): Html {
  if (!r) return html``;
  if ('problem' in r)
    return html`<p class="flash flash-error" role="alert" data-filter-result="error">${r.problem}</p>`;
  return r.matches
    ? html`<p class="ok" data-filter-result="match"><strong>Matches:</strong> an event with this payload would be delivered to this endpoint.</p>`
    : html`<p class="bad" data-filter-result="no-match"><strong>No match:</strong> an event with this payload would not be delivered to this endpoint.</p>`;
}

function filterSection(o: EndpointPageOptions, self: string): Html {
  const f = o.filterEdit;
  return html`<section class="card" id="filter" aria-labelledby="filter-h">
  <h2 id="filter-h">Payload filter</h2>
  <p class="hint">Only events whose payload matches are delivered here, e.g.
  <code>{"amount_cents": {"$gte": 100000}, "currency": {"$in": ["EUR", "USD"]}}</code>.
  Operators: <code>$eq $neq $in $nin $gt $gte $lt $lte $exists $and $or $not</code>; dotted paths reach into
  nested objects, and a path through a list matches when any element does. Empty: every event.</p>
  <form method="post" action="${self}/filter" class="filter-form">
    ${csrfField(o.csrf)}
    <div class="field"><label for="filter-text">Filter (JSON)</label>
      <textarea id="filter-text" name="filter" rows="5" spellcheck="false">${f.text}</textarea></div>
    <div class="field"><label for="sample-type">Sample payload of type</label>
      <select id="sample-type" name="sample_type">
        ${o.subscribed.map((t) => html`<option${t === f.sampleType ? html` selected` : ''}>${t}</option>`)}
      </select>
      <button type="submit" name="action" value="example" class="small">Use its example</button></div>
    <div class="field"><label for="filter-sample">Sample payload</label>
      <textarea id="filter-sample" name="sample" rows="8" spellcheck="false">${f.sample}</textarea></div>
    <div class="actions">
      <button type="submit" name="action" value="test">Test against the sample</button>
      <button type="submit" name="action" value="save" class="primary">Save filter</button>
    </div>
  </form>
  <div id="filter-result" aria-live="polite">${filterResult(f.result)}</div>
</section>`;
}

function filterQuery(f: LogFilter, cursor?: string): string {
  const q = new URLSearchParams();
  if (f.failed) q.set('failed', '1');
  if (f.type) q.set('type', f.type);
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', f.to);
  if ((f.from || f.to) && f.tz) q.set('tz', f.tz);
  if (cursor) q.set('cursor', cursor);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function resendForm(
  csrf: string,
  d: Pick<DeliveryJson, 'id' | 'state' | 'attempts'>,
  back: string,
): Html {
  if (d.state === 'delivering' || (d.state === 'pending' && d.attempts === 0)) return html``;
  const label = d.state === 'pending' ? 'Retry now' : 'Resend';
  return html`<form method="post" action="/portal/deliveries/${encodeURIComponent(d.id)}/resend" class="inline">
  ${csrfField(csrf)}<input type="hidden" name="back" value="${back}">
  <button type="submit" class="small" aria-label="${label} ${d.id}">${label}</button>
</form>`;
}

function response(d: DeliveryJson): Html {
  if (d.last_status !== null)
    return html`<span class="${d.last_status < 300 ? 'ok' : 'bad'}">HTTP ${d.last_status}</span>`;
  if (d.last_error)
    return html`<span class="bad" title="${d.last_error}">${d.last_error.slice(0, 60)}</span>`;
  return html`<span class="muted">—</span>`;
}

function logTable(o: EndpointPageOptions, back: string): Html {
  if ('problem' in o.log) return html`<p class="flash flash-error" role="alert">${o.log.problem}</p>`;
  const rows = o.log.data;
  if (rows.length === 0) {
    return html`<p class="muted">${
      o.filter.failed || o.filter.type || o.filter.from || o.filter.to
        ? 'No deliveries match these filters.'
        : 'No deliveries yet. Send a test event to see one here.'
    }</p>`;
  }
  return html`<div class="table-wrap"><table class="log">
  <thead><tr><th scope="col">Time</th><th scope="col">Event type</th><th scope="col">Status</th>
  <th scope="col">Attempts</th><th scope="col">Last response</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
  <tbody>
  ${rows.map(
    (d) => html`<tr>
    <td data-label="Time"><a href="/portal/deliveries/${encodeURIComponent(d.id)}">${time(d.created_at)}</a></td>
    <td data-label="Event type"><code>${d.event_type}</code></td>
    <td data-label="Status">${stateBadge(d.state, d.attempts)}</td>
    <td data-label="Attempts">${d.attempts}</td>
    <td data-label="Last response">${response(d)}</td>
    <td class="row-actions"><a href="/portal/deliveries/${encodeURIComponent(d.id)}">Details<span class="sr-only"> of ${d.id}</span></a>
    ${resendForm(o.csrf, d, back)}</td>
  </tr>`,
  )}
  </tbody>
</table></div>
${
  o.log.next_cursor
    ? html`<p><a class="button" href="/portal/endpoints/${encodeURIComponent(o.endpoint.id)}${filterQuery(o.filter, o.log.next_cursor)}#deliveries">Older deliveries</a></p>`
    : ''
}`;
}

export function endpointPage(o: EndpointPageOptions): Html {
  const e = o.endpoint;
  const eid = encodeURIComponent(e.id);
  const self = `/portal/endpoints/${eid}`;
  const back = `${self}${filterQuery(o.filter)}`;
  const f = o.filter;
  const headers = Object.entries(e.headers);
  const ed25519 = e.signing === 'ed25519';
  return html`<p class="crumbs"><a href="/portal">Endpoints</a> › <span>Endpoint</span></p>
<div class="page-head">
  <h1 class="endpoint-title">${e.url}</h1>
  <div class="actions">
    <a class="button" href="${self}/edit">Edit</a>
    <form method="post" action="${self}/${e.disabled ? 'enable' : 'disable'}" class="inline">${csrfField(o.csrf)}
      <button type="submit">${e.disabled ? 'Enable' : 'Disable'}</button></form>
    <a class="button danger" href="${self}/delete">Delete</a>
  </div>
</div>
${e.description ? html`<p>${e.description}</p>` : ''}
<p class="health">${healthLine(e)}</p>

<div class="grid">
<section class="card" aria-labelledby="secret-h">
  ${
    ed25519
      ? html`<h2 id="secret-h">Public key</h2>
  <p class="hint">Requests are signed with Ed25519 (<code>v1a,</code> in <code>webhook-signature</code>); verify them with this public key.</p>`
      : html`<h2 id="secret-h">Signing secret</h2>
  <p class="hint">Check each request’s <code>webhook-signature</code> header with this secret (any Standard Webhooks library does it).</p>`
  }
  <div class="secret-row">
    <code class="secret" id="secret" data-masked="${o.revealedSecret ? '' : '1'}">${o.revealedSecret ?? `${ed25519 ? 'whpk_' : 'whsec_'}••••••••••••••••••••••••`}</code>
    ${
      o.revealedSecret
        ? ''
        : html`<form method="post" action="${self}/secret" class="inline" data-reveal="${o.apiBase}/endpoints/${eid}/secret">
      ${csrfField(o.csrf)}<button type="submit">Reveal</button></form>`
    }
  </div>
  <form method="post" action="${self}/rotate" class="inline">${csrfField(o.csrf)}
    <button type="submit">Rotate secret</button></form>
  <p class="hint">A new secret is made; the old one keeps signing beside it for a grace period, so you can switch without missing a delivery.</p>
</section>

<section class="card" aria-labelledby="test-h">
  <h2 id="test-h">Send a test event</h2>
  <p class="hint">Sends an event to this endpoint only, signed and formatted like every other, with the header <code>tidings-test: true</code>: <code>tidings.test</code>, or any type it subscribes to with the catalog's example payload.</p>
  <form method="post" action="${self}/test" data-test-event="${o.apiBase}/endpoints/${eid}/test">
    ${csrfField(o.csrf)}
    <div class="field"><label for="test-type">Type of test event</label>
      <select id="test-type" name="type"><option value="">tidings.test</option>
        ${o.subscribed.map((t) => html`<option>${t}</option>`)}
      </select></div>
    <button type="submit" class="primary"${e.disabled ? html` disabled aria-describedby="test-disabled"` : ''}>Send test event</button>
  </form>
  ${e.disabled ? html`<p class="muted" id="test-disabled">Enable the endpoint to send it a test event.</p>` : ''}
  <div id="test-result" class="test-result" aria-live="polite"></div>
</section>
</div>

${
  o.stats
    ? html`<section class="card" id="stats" aria-labelledby="stats-h">
  <h2 id="stats-h">Last 7 days</h2>
  ${statsChart(o.stats)}
</section>`
    : ''
}

<section class="card" aria-labelledby="config-h">
  <h2 id="config-h">Configuration</h2>
  <dl class="props">
    <dt>Destination</dt><dd>${destinationLabel(e)}</dd>
    ${certificateLine(e) ? html`<dt>Client certificate</dt><dd>${certificateLine(e)}</dd>` : ''}
    ${e.oauth ? html`<dt>OAuth2</dt><dd>client <code>${e.oauth.client_id}</code> at <code>${e.oauth.token_url}</code></dd>` : ''}
    <dt>Payload format</dt><dd><code>${e.profile}</code></dd>
    <dt>Events</dt><dd>${
      e.event_types === null
        ? 'Every event type enabled by default'
        : html`${e.event_types.map((t) => html`<code>${t}</code> `)}`
    }</dd>
    <dt>Channels</dt><dd>${e.channels ? html`${e.channels.map((c) => html`<code>${c}</code> `)}` : 'Any channel'}</dd>
    <dt>Authentication header</dt><dd>${
      headers.length > 0
        ? html`${headers.map(([k, m]) => html`<code class="masked">${k}: ${m}</code> `)}`
        : 'None'
    }</dd>
    <dt>Request timeout</dt><dd>${e.timeout_ms ? `${e.timeout_ms / 1000} s` : 'The service default'}</dd>
    <dt>Retries</dt><dd>${e.retry_schedule ? (e.retry_schedule.length > 0 ? e.retry_schedule.join(', ') : 'None') : 'The service default'}</dd>
    <dt>Endpoint id</dt><dd><code>${e.id}</code></dd>
    <dt>Created</dt><dd>${time(e.created_at)}</dd>
  </dl>
</section>

${filterSection(o, self)}

<section class="card" id="deliveries" aria-labelledby="log-h">
  <h2 id="log-h">Deliveries</h2>
  <form method="get" action="${self}#deliveries" class="filters" aria-label="Filter deliveries">
    <label class="choice"><input type="checkbox" name="failed" value="1"${f.failed ? html` checked` : ''}> Failed only</label>
    <div class="field">
      <label for="f-type">Event type</label>
      <select id="f-type" name="type"><option value="">Any</option>
        ${o.typeNames.map((t) => html`<option${t === f.type ? html` selected` : ''}>${t}</option>`)}
      </select>
    </div>
    <div class="field"><label for="f-from">From</label><input id="f-from" name="from" type="datetime-local" value="${f.from}"></div>
    <div class="field"><label for="f-to">To</label><input id="f-to" name="to" type="datetime-local" value="${f.to}"></div>
    <input type="hidden" name="tz" value="${f.tz}" data-tz>
    <div class="actions"><button type="submit">Apply</button> <a class="button" href="${self}#deliveries">Clear</a></div>
    <p class="hint small" data-tz-hint>Times are UTC.</p>
  </form>
  ${logTable(o, back)}
</section>

${replaySection(e, o.typeNames)}

<section class="card" aria-labelledby="recover-h">
  <h2 id="recover-h">Recover failed deliveries</h2>
  <form method="post" action="${self}/recover" class="filters">
    ${csrfField(o.csrf)}
    <div class="field"><label for="since">Every failed delivery since</label>
      <input id="since" name="since" type="datetime-local" required></div>
    <div class="field"><label for="until">until <span class="muted">(optional)</span></label>
      <input id="until" name="until" type="datetime-local"></div>
    <input type="hidden" name="tz" value="" data-tz>
    <div class="actions"><button type="submit">Send them again</button></div>
  </form>
  <p class="hint small" data-tz-hint>Times are UTC.</p>
</section>
`;
}

export function deleteEndpointPage(csrf: string, e: EndpointJson): Html {
  const self = `/portal/endpoints/${encodeURIComponent(e.id)}`;
  return html`<p class="crumbs"><a href="/portal">Endpoints</a> › <a href="${self}">${e.url}</a></p>
<section class="card narrow">
  <h1>Delete this endpoint?</h1>
  <p><code>${e.url}</code></p>
  <p>It stops receiving events at once, and its delivery log is deleted with it. This cannot be undone.
  To stop deliveries for a while instead, disable it.</p>
  <form method="post" action="${self}/delete" class="actions">${csrfField(csrf)}
    <button type="submit" class="danger">Delete endpoint</button>
    <a class="button" href="${self}">Keep it</a>
  </form>
</section>`;
}
