// Replaying an endpoint's failed deliveries: the endpoint page's form asks for a window (and
// an event type); this page shows how many failed deliveries it matches before anything is
// queued, and queues them only when confirmed.
import type { EndpointJson } from '../apiTypes.js';
import { type Html, html } from '../html.js';
import { csrfField } from '../layout.js';

export interface ReplayChoice {
  /** As typed (datetime-local), with the browser's offset. */
  from: string;
  to: string;
  tz: string;
  type: string;
}

/** The endpoint page's section: choose a window, then see the count. */
export function replaySection(e: EndpointJson, typeNames: string[]): Html {
  const self = `/portal/endpoints/${encodeURIComponent(e.id)}`;
  return html`<section class="card" id="replay" aria-labelledby="replay-h">
  <h2 id="replay-h">Replay failed deliveries</h2>
  <p class="hint">Choose a time window; you will see how many failed deliveries it holds before anything is sent.</p>
  <form method="get" action="${self}/replay" class="filters">
    <div class="field"><label for="r-from">Failed since</label>
      <input id="r-from" name="from" type="datetime-local" required></div>
    <div class="field"><label for="r-to">Failed before</label><input id="r-to" name="to" type="datetime-local"></div>
    <div class="field"><label for="r-type">Of type</label>
      <select id="r-type" name="type"><option value="">Any</option>
        ${typeNames.map((t) => html`<option>${t}</option>`)}
      </select></div>
    <input type="hidden" name="tz" value="" data-tz>
    <div class="actions"><button type="submit">Count them</button></div>
  </form>
  <p class="hint small" data-tz-hint>Times are UTC.</p>
</section>`;
}

/** The count, and the button that queues them. */
export function replayConfirmPage(
  csrf: string,
  e: EndpointJson,
  c: ReplayChoice,
  window: { since: Date; until: Date },
  matched: number,
): Html {
  const self = `/portal/endpoints/${encodeURIComponent(e.id)}`;
  const what = `${matched} failed ${matched === 1 ? 'delivery' : 'deliveries'}`;
  return html`<p class="crumbs"><a href="/portal">Endpoints</a> › <a href="${self}">${e.url}</a> › <span>Replay</span></p>
<section class="card narrow">
  <h1>Replay failed deliveries</h1>
  <p id="replay-count"><strong>${what}</strong> created between ${window.since.toISOString().slice(0, 16).replace('T', ' ')}
  and ${window.until.toISOString().slice(0, 16).replace('T', ' ')} UTC${c.type ? html` of type <code>${c.type}</code>` : ''}.</p>
  ${
    matched === 0
      ? html`<p>There is nothing to replay in this window.</p><p><a class="button" href="${self}#replay">Back to the endpoint</a></p>`
      : html`<p>Each gets one more attempt now; other deliveries keep flowing meanwhile.</p>
  <form method="post" action="${self}/replay" class="actions">${csrfField(csrf)}
    <input type="hidden" name="since" value="${window.since.toISOString()}">
    <input type="hidden" name="until" value="${window.until.toISOString()}">
    <input type="hidden" name="type" value="${c.type}">
    <button type="submit" class="primary">Replay ${what}</button>
    <a class="button" href="${self}#replay">Cancel</a>
  </form>`
  }
</section>`;
}
