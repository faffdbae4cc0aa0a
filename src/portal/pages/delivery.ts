// One delivery and every attempt: request headers and body, response status, headers and
// body, duration, error.
import type { AttemptJson, DeliveryDetailJson, SentBodyJson } from '../apiTypes.js';
import { type Html, html } from '../html.js';
import { stateBadge, time } from '../layout.js';
import { resendForm } from './endpoint.js';

export interface DeliveryPageOptions {
  csrf: string;
  delivery: DeliveryDetailJson;
  /** The endpoint's URL, for the breadcrumb; undefined when it is gone. */
  endpointUrl: string | undefined;
  requestBody: SentBodyJson | { problem: string };
}

function headerTable(h: Record<string, string> | null, caption: string): Html {
  const rows = Object.entries(h ?? {});
  if (rows.length === 0) return html`<p class="muted">No ${caption.toLowerCase()}.</p>`;
  return html`<div class="table-wrap"><table class="headers"><caption>${caption}</caption>
<tbody>${rows.map(([k, v]) => html`<tr><th scope="row">${k}</th><td><code>${v}</code></td></tr>`)}</tbody></table></div>`;
}

function attemptBlock(a: AttemptJson, open: boolean): Html {
  const outcome = a.status !== null ? `HTTP ${a.status}` : a.error ? 'No response' : '—';
  const ok = a.status !== null && a.status >= 200 && a.status < 300;
  return html`<details class="attempt card"${open ? html` open` : ''}>
  <summary><span class="attempt-n">Attempt ${a.attempt}</span>
    <span class="${ok ? 'ok' : 'bad'}">${outcome}</span>
    <span class="muted">${a.duration_ms} ms · ${time(a.started_at)}</span></summary>
  <dl class="props">
    <dt>URL</dt><dd><code>${a.url}</code></dd>
    <dt>Duration</dt><dd>${a.duration_ms} ms</dd>
    <dt>Response status</dt><dd>${a.status ?? '—'}</dd>
    ${a.error ? html`<dt>Error</dt><dd class="bad">${a.error}</dd>` : ''}
  </dl>
  ${headerTable(a.request_headers, 'Request headers')}
  ${headerTable(a.response_headers, 'Response headers')}
  ${
    a.response_body
      ? html`<p class="label">Response body <span class="muted small">(its beginning, as kept)</span></p><pre class="body">${a.response_body}</pre>`
      : html`<p class="muted">No response body.</p>`
  }
</details>`;
}

export function deliveryPage(o: DeliveryPageOptions): Html {
  const d = o.delivery;
  const self = `/portal/deliveries/${encodeURIComponent(d.id)}`;
  const epLink = `/portal/endpoints/${encodeURIComponent(d.endpoint_id)}`;
  const attempts = [...d.attempt_log].reverse();
  return html`<p class="crumbs"><a href="/portal">Endpoints</a> › <a href="${epLink}">${o.endpointUrl ?? d.endpoint_id}</a> › <span>Delivery</span></p>
<div class="page-head">
  <h1>Delivery <code>${d.id}</code></h1>
  <div class="actions">${resendForm(o.csrf, d, self)}</div>
</div>
<section class="card">
  <dl class="props">
    <dt>Status</dt><dd id="delivery-state">${stateBadge(d.state, d.attempts)}</dd>
    <dt>Event type</dt><dd><code>${d.event_type}</code></dd>
    <dt>Event id</dt><dd><code>${d.event_id}</code> <span class="muted small">(the <code>webhook-id</code> header; the same on every retry)</span></dd>
    <dt>Attempts</dt><dd>${d.attempts}</dd>
    <dt>Created</dt><dd>${time(d.created_at)}</dd>
    ${d.completed_at ? html`<dt>Finished</dt><dd>${time(d.completed_at)}</dd>` : ''}
    ${d.state === 'pending' && d.next_attempt_at ? html`<dt>Next attempt</dt><dd>${time(d.next_attempt_at)}</dd>` : ''}
  </dl>
  ${
    d.state === 'pending' || d.state === 'delivering'
      ? html`<p><a class="button" href="${self}">Refresh</a></p>`
      : ''
  }
</section>
<section class="card" aria-labelledby="body-h">
  <h2 id="body-h">Request body</h2>
  ${
    'problem' in o.requestBody
      ? html`<p class="muted">${o.requestBody.problem}</p>`
      : html`<pre class="body" id="request-body">${o.requestBody.body}</pre>
  <p class="hint small">${
    o.requestBody.rebuilt
      ? html`Not sent yet: the body the next attempt will send, built from the stored event by the <code>${o.requestBody.profile}</code> format.`
      : html`Exactly as attempt ${String(o.requestBody.attempt)} sent it (the signature covered these bytes)${o.requestBody.redacted ? ', personal data shown as [redacted]' : ''}.`
  } sha256 <code id="request-body-sha256">${o.requestBody.sha256}</code></p>`
  }
</section>
<h2>Attempts</h2>
${
  attempts.length === 0
    ? html`<p class="muted">No attempt yet.</p>`
    : html`<div class="attempts">${attempts.map((a, i) => attemptBlock(a, i === 0))}</div>`
}`;
}
