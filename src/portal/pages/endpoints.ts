// The start page: the tenant's endpoints and how each is doing.
import type { EndpointJson } from '../apiTypes.js';
import { type Html, html } from '../html.js';
import { time } from '../layout.js';
import { destinationLabel } from './destination.js';

/** What an endpoint's health badge is made of. */
export type HealthOf = Pick<
  EndpointJson,
  'health' | 'fault' | 'disabled' | 'disabled_reason' | 'disabled_at'
>;

export function healthLine(e: HealthOf): Html {
  const h = e.health;
  if (e.fault) {
    return html`<span class="badge badge-bad">Stopped</span>
<span class="muted">since ${time(e.fault.at)}: ${e.fault.error}. Fix the setting and save the endpoint to resume.</span>`;
  }
  if (e.disabled) {
    return html`<span class="badge badge-neutral">Disabled</span>
<span class="muted">${e.disabled_reason ?? ''}${e.disabled_at ? html` · since ${time(e.disabled_at)}` : ''}</span>`;
  }
  if (h.state === 'open') {
    return html`<span class="badge badge-bad">Paused</span>
<span class="muted">failing since ${time(h.failing_since)}; deliveries wait until a probe succeeds</span>`;
  }
  if (h.consecutive_failures > 0) {
    return html`<span class="badge badge-bad">Failing</span>
<span class="muted">since ${time(h.failing_since)} · ${h.consecutive_failures} failed ${
      h.consecutive_failures === 1 ? 'attempt' : 'attempts'
    } in a row · last success ${time(h.last_success_at)}</span>`;
  }
  if (h.last_success_at) {
    return html`<span class="badge badge-ok">Healthy</span> <span class="muted">last success ${time(h.last_success_at)}</span>`;
  }
  return html`<span class="badge badge-neutral">No deliveries yet</span>`;
}

export function endpointsPage(endpoints: EndpointJson[], nextCursor: string | null): Html {
  return html`<div class="page-head">
  <h1>Webhook endpoints</h1>
  <a class="button primary" href="/portal/endpoints/new">Add endpoint</a>
</div>
${
  endpoints.length === 0
    ? html`<section class="card empty"><p>No endpoints yet.</p>
<p>Add the URL of your server to start receiving webhooks.</p></section>`
    : html`<ul class="list" aria-label="Endpoints">
${endpoints.map(
  (e) => html`<li class="card endpoint">
  <a class="endpoint-url" href="/portal/endpoints/${encodeURIComponent(e.id)}">${e.url}</a>
  ${e.description ? html`<p class="endpoint-desc">${e.description}</p>` : ''}
  <p class="health">${healthLine(e)}</p>
  <p class="muted small">${destinationLabel(e)} · ${e.profile} profile · ${
    e.event_types === null
      ? 'every default event type'
      : `${e.event_types.length} event ${e.event_types.length === 1 ? 'type' : 'types'}`
  }${e.channels ? ` · channels: ${e.channels.join(', ')}` : ''}</p>
</li>`,
)}
</ul>`
}
${nextCursor ? html`<p><a class="button" href="/portal?cursor=${encodeURIComponent(nextCursor)}">More endpoints</a></p>` : ''}
${exportForm()}`;
}

/**
 * The record of a window as a file (GET /portal/events/export): every event with the sha256
 * of its payload and how each endpoint's delivery ended, to reconcile or keep.
 */
export function exportForm(): Html {
  return html`<section class="card" aria-labelledby="export-h">
  <h2 id="export-h">Export your events</h2>
  <p class="hint">Every event of a period, one line each: its id, type, time, channels, the sha256 of its payload, and for each endpoint whether it was delivered, in how many attempts and when.</p>
  <form method="get" action="/portal/events/export" class="filters">
    <div class="field"><label for="x-from">From</label><input id="x-from" name="from" type="datetime-local" required></div>
    <div class="field"><label for="x-to">To</label><input id="x-to" name="to" type="datetime-local" required></div>
    <div class="field"><label for="x-format">Format</label>
      <select id="x-format" name="format"><option value="jsonl">JSON Lines</option><option value="csv">CSV</option></select></div>
    <input type="hidden" name="tz" value="" data-tz>
    <div class="actions"><button type="submit">Download</button></div>
    <p class="hint small" data-tz-hint>Times are UTC.</p>
  </form>
</section>`;
}
