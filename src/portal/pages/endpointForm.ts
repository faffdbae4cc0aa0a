// Create and edit an endpoint: URL, description, event types from the catalog (by group,
// with descriptions, default-enabled ones marked), channels, wire profile, auth header.
import type { EventTypeJson } from '../apiTypes.js';
import type { EndpointFormValues } from '../form.js';
import { type Html, html } from '../html.js';
import { csrfField } from '../layout.js';

const PROFILE_HINTS: Record<string, string> = {
  standard: 'Standard Webhooks: {"type", "timestamp", "data"}',
  raw: 'The event payload exactly as published, no envelope',
  highline: '{"topic", "event", "data"}',
  canopy: '{"event", "data", "hmac_signature"}: an HMAC of data in the body',
  billie: 'Flat {"created_at", "event", …fields}; usually with an API-key header below',
};

/**
 * Tidings' own types are not offered: tidings.test is sent on request, not subscribed to,
 * and the endpoint notices (tidings.endpoint.*) go to the operator's tenant only.
 */
const isOwnType = (name: string) => name.startsWith('tidings.');

export interface EndpointFormOptions {
  csrf: string;
  catalog: EventTypeJson[];
  profiles: string[];
  values: EndpointFormValues;
  /** The catalog fixes the payload format (endpoint_defaults, locked): shown, not chosen. */
  lockedProfile?: string | undefined;
  /** Editing: the endpoint id and its static headers, masked. */
  editing?: { id: string; maskedHeaders: Record<string, string> };
  problem?: string | undefined;
}

function groupTypes(catalog: EventTypeJson[]): [string, EventTypeJson[]][] {
  const groups = new Map<string, EventTypeJson[]>();
  for (const t of catalog) {
    if (isOwnType(t.name)) continue;
    const g = t.group ?? 'Other';
    (groups.get(g) ?? groups.set(g, []).get(g)!).push(t);
  }
  return [...groups.entries()].sort(([a], [b]) =>
    a === 'Other' ? 1 : b === 'Other' ? -1 : a.localeCompare(b),
  );
}

function typeChoices(catalog: EventTypeJson[], chosen: Set<string>): Html {
  const groups = groupTypes(catalog);
  // What the endpoint has that the list does not show (a "topic.*" pattern set through the
  // API, one of Tidings' own types) stays chosen, and can be unticked.
  const shown = new Set(groups.flatMap(([, types]) => types.map((t) => t.name)));
  const other = [...chosen].filter((t) => !shown.has(t));
  if (groups.length === 0 && other.length === 0) {
    return html`<p class="muted">The catalog has no event types yet.</p>`;
  }
  return html`${
    other.length > 0
      ? html`<fieldset class="group"><legend>Also chosen</legend>${other.map(
          (t) => html`<label class="type"><input type="checkbox" name="event_types" value="${t}" checked>
  <span class="type-text"><code>${t}</code></span></label>`,
        )}</fieldset>`
      : ''
  }${groups.map(
    ([group, types]) => html`<fieldset class="group">
  <legend>${group}</legend>
  ${types.map(
    (t) => html`<label class="type">
    <input type="checkbox" name="event_types" value="${t.name}"${chosen.has(t.name) ? html` checked` : ''}>
    <span class="type-text"><span class="type-name"><code>${t.name}</code>${
      t.default_enabled
        ? html` <span class="badge badge-ok" title="Sent to endpoints that receive every default type">default</span>`
        : ''
    }</span>${t.description ? html`<span class="type-desc">${t.description}</span>` : ''}</span>
  </label>`,
  )}
</fieldset>`,
  )}`;
}

export function endpointFormPage(o: EndpointFormOptions): Html {
  const v = o.values;
  const editing = o.editing;
  const action = editing ? `/portal/endpoints/${encodeURIComponent(editing.id)}` : '/portal/endpoints';
  const existing = editing ? Object.entries(editing.maskedHeaders) : [];
  const profiles = o.profiles.includes(v.profile) ? o.profiles : [...o.profiles, v.profile];
  return html`<p class="crumbs"><a href="/portal">Endpoints</a>${
    editing ? html` › <a href="/portal/endpoints/${encodeURIComponent(editing.id)}">${v.url}</a>` : ''
  }</p>
<h1>${editing ? 'Edit endpoint' : 'Add endpoint'}</h1>
${o.problem ? html`<p class="flash flash-error" role="alert" id="form-problem" tabindex="-1">${o.problem}</p>` : ''}
<form method="post" action="${action}" class="form" novalidate>
  ${csrfField(o.csrf)}
  <div class="field">
    <label for="url">Endpoint URL</label>
    <input id="url" name="url" type="url" inputmode="url" autocomplete="url" required maxlength="2048"
      placeholder="https://example.com/webhooks" value="${v.url}" aria-describedby="url-hint">
    <p class="hint" id="url-hint">Each event is sent here as a POST, signed with this endpoint’s secret.</p>
  </div>
  <div class="field">
    <label for="description">Description <span class="muted">(optional)</span></label>
    <input id="description" name="description" maxlength="1000" value="${v.description}">
  </div>
  <fieldset class="field events">
    <legend>Events</legend>
    <label class="choice"><input type="radio" name="types_mode" value="default"${v.typesMode === 'default' ? html` checked` : ''}>
      Every event type marked <span class="badge badge-ok">default</span>, including ones added later</label>
    <label class="choice"><input type="radio" name="types_mode" value="chosen"${v.typesMode === 'chosen' ? html` checked` : ''}>
      Only the event types I choose</label>
    <div class="types" id="types">${typeChoices(o.catalog, new Set(v.eventTypes))}</div>
  </fieldset>
  <div class="field">
    <label for="channels">Channels <span class="muted">(optional)</span></label>
    <textarea id="channels" name="channels" rows="2" aria-describedby="channels-hint">${v.channels}</textarea>
    <p class="hint" id="channels-hint">Only events tagged with one of these channels, one per line (for example
    <code>bank_account:BA-1</code>). Leave empty for events on any channel.</p>
  </div>
  ${
    o.lockedProfile
      ? html`<div class="field">
    <p class="label" id="profile-label">Payload format</p>
    <p id="profile-fixed" aria-labelledby="profile-label"><code>${o.lockedProfile}</code>${PROFILE_HINTS[o.lockedProfile] ? ` — ${PROFILE_HINTS[o.lockedProfile]}` : ''}</p>
    <p class="hint" id="profile-hint">Every endpoint here uses this format, with the Standard Webhooks headers
    (<code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>).</p>
  </div>`
      : html`<div class="field">
    <label for="profile">Payload format</label>
    <select id="profile" name="profile" aria-describedby="profile-hint">
      ${profiles.map(
        (p) =>
          html`<option value="${p}"${p === v.profile ? html` selected` : ''}>${p}${PROFILE_HINTS[p] ? ` — ${PROFILE_HINTS[p]}` : ''}</option>`,
      )}
    </select>
    <p class="hint" id="profile-hint">Every format carries the Standard Webhooks headers
    (<code>webhook-id</code>, <code>webhook-timestamp</code>, <code>webhook-signature</code>).</p>
  </div>`
  }
  <fieldset class="field">
    <legend>Authentication header <span class="muted">(optional)</span></legend>
    <p class="hint">A fixed header sent with every request, such as <code>X-Api-Key</code> or
    <code>Authorization</code>. It is stored encrypted and never shown again in full.</p>
    ${
      existing.length > 0
        ? html`<p>Now: ${existing.map(([k, m]) => html`<code class="masked">${k}: ${m}</code> `)}</p>`
        : ''
    }
    <div class="row">
      <div class="field">
        <label for="header_name">Header name</label>
        <input id="header_name" name="header_name" autocomplete="off" spellcheck="false" maxlength="100" value="${v.headerName}">
      </div>
      <div class="field">
        <label for="header_value">Header value</label>
        <input id="header_value" name="header_value" type="password" autocomplete="new-password" maxlength="4096"
          ${existing.length > 0 ? html`placeholder="unchanged" aria-describedby="header-value-hint"` : ''}>
        ${existing.length > 0 ? html`<p class="hint" id="header-value-hint">Leave empty to keep the current value.</p>` : ''}
      </div>
    </div>
    ${
      existing.length > 0
        ? html`<label class="choice"><input type="checkbox" name="header_remove" value="1"${v.headerRemove ? html` checked` : ''}> Remove the header</label>`
        : ''
    }
  </fieldset>
  <div class="actions">
    <button class="primary" type="submit">${editing ? 'Save changes' : 'Create endpoint'}</button>
    <a class="button" href="${editing ? `/portal/endpoints/${encodeURIComponent(editing.id)}` : '/portal'}">Cancel</a>
  </div>
</form>`;
}
