// The event catalog as a tenant reads it: every type with its description, whether endpoints
// get it by default, its deprecation, its payload schema and an example payload.
import type { EventTypeJson } from '../apiTypes.js';
import { type Html, html } from '../html.js';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

function typeCard(t: EventTypeJson): Html {
  const example = t.examples?.[0];
  return html`<section class="card" id="type-${t.name}" aria-labelledby="h-${t.name}" data-event-type="${t.name}">
  <h2 id="h-${t.name}"><code>${t.name}</code>${t.deprecated ? html` <span class="badge bad">Deprecated</span>` : ''}</h2>
  ${t.deprecated ? html`<p class="flash flash-error" data-deprecated>Deprecated: ${t.deprecated.reason}</p>` : ''}
  <p>${t.description || html`<span class="muted">No description.</span>`}</p>
  <dl class="props">
    ${t.group ? html`<dt>Group</dt><dd>${t.group}</dd>` : ''}
    <dt>Endpoints get it</dt><dd>${t.default_enabled ? 'By default' : 'Only when they choose it (opt-in)'}</dd>
  </dl>
  ${
    example !== undefined
      ? html`<h3>Example payload</h3><pre class="json" data-example>${pretty(example)}</pre>`
      : html`<p class="muted">No example payload.</p>`
  }
  ${t.schema ? html`<details><summary>Payload schema</summary><pre class="json" data-schema>${pretty(t.schema)}</pre></details>` : ''}
</section>`;
}

export function catalogPage(types: EventTypeJson[], problem?: string): Html {
  const shown = types.filter((t) => t.name !== 'tidings.test');
  return html`<div class="page-head"><h1>Event catalog</h1></div>
<p class="hint">Every event type this service sends. Choose them for an endpoint on its edit page; send one to an endpoint with "Send a test event" on its page.</p>
${problem ? html`<p class="flash flash-error" role="alert">${problem}</p>` : ''}
${shown.length === 0 && !problem ? html`<p class="muted">The catalog is empty.</p>` : ''}
${shown.map(typeCard)}`;
}
