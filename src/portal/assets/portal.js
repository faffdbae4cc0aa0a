// Progressive enhancement for the portal. Every page works without this script; with it,
// times show in the reader's zone, the secret is revealed in place, and a test event's
// result appears inline. API calls go to /v1 with the session cookie and X-CSRF-Token.
(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
  const csrf = meta('csrf-token');

  async function api(method, path, payload) {
    const headers = { 'x-csrf-token': csrf, accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(body?.error?.message ?? `The server answered ${res.status}.`);
    return body;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }

  function localTimes(root) {
    for (const t of root.querySelectorAll('time[datetime]')) {
      const d = new Date(t.getAttribute('datetime'));
      if (Number.isNaN(d.getTime())) continue;
      t.title = `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
      t.textContent = d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
    }
  }

  // Filters and recover: datetime-local inputs mean the reader's local time.
  function timeZones() {
    const offset = String(new Date().getTimezoneOffset());
    for (const input of document.querySelectorAll('input[data-tz]')) input.value = offset;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'your time zone';
    for (const hint of document.querySelectorAll('[data-tz-hint]'))
      hint.textContent = `Times are in ${zone}.`;
  }

  function revealSecret() {
    for (const form of document.querySelectorAll('form[data-reveal]')) {
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const code = document.getElementById('secret');
        const button = form.querySelector('button');
        if (!code) return;
        if (code.dataset.masked === '0') {
          code.textContent = code.dataset.mask;
          code.dataset.masked = '1';
          button.textContent = 'Reveal';
          return;
        }
        try {
          const answer = await api('GET', form.dataset.reveal);
          code.dataset.mask = code.textContent;
          code.textContent = answer.secret;
          code.dataset.masked = '0';
          button.textContent = 'Hide';
        } catch (err) {
          code.textContent = err.message;
        }
      });
    }
  }

  function attemptLine(d) {
    const last = d.attempt_log?.[d.attempt_log.length - 1];
    const what = last ? (last.status !== null ? `HTTP ${last.status}` : (last.error ?? 'no response')) : '';
    const took = last ? ` in ${last.duration_ms} ms` : '';
    if (d.state === 'succeeded') return { ok: true, text: `Delivered: ${what}${took}.` };
    if (d.state === 'failed') return { ok: false, text: `Failed: ${what}${took}. No more retries.` };
    if (d.attempts > 0) return { ok: false, text: `Failed: ${what}${took}. Retrying.` };
    return null;
  }

  function testEvents() {
    for (const form of document.querySelectorAll('form[data-test-event]')) {
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const out = document.getElementById('test-result');
        const button = form.querySelector('button');
        button.disabled = true;
        out.replaceChildren('Sending…');
        try {
          const type = form.querySelector('select[name="type"]')?.value;
          const sent = await api('POST', form.dataset.testEvent, type ? { type } : undefined);
          const link = el(
            'a',
            { href: `/portal/deliveries/${encodeURIComponent(sent.delivery_id)}` },
            'View attempt',
          );
          const base = meta('tidings-api');
          const until = Date.now() + 30000;
          let line = null;
          while (Date.now() < until) {
            const d = await api('GET', `${base}/deliveries/${encodeURIComponent(sent.delivery_id)}`);
            line = attemptLine(d);
            if (line) break;
            await new Promise((r) => setTimeout(r, 400));
          }
          const text = line
            ? el(
                'strong',
                { class: line.ok ? 'ok' : 'bad', 'data-test-outcome': line.ok ? 'delivered' : 'failed' },
                line.text,
              )
            : el('span', {}, 'Sent; no answer yet. ');
          out.replaceChildren(text, ' ', link);
        } catch (err) {
          out.replaceChildren(el('strong', { class: 'bad' }, err.message));
        } finally {
          button.disabled = false;
        }
      });
    }
  }

  // Event types: the checkboxes matter only when "Only the event types I choose" is picked.
  function typeChoice() {
    const box = document.getElementById('types');
    if (!box) return;
    const radios = document.querySelectorAll('input[name="types_mode"]');
    const sync = () => {
      const chosen = document.querySelector('input[name="types_mode"]:checked')?.value === 'chosen';
      box.hidden = !chosen;
    };
    for (const r of radios) r.addEventListener('change', sync);
    sync();
  }

  function focusProblem() {
    document.getElementById('form-problem')?.focus();
  }

  document.addEventListener('DOMContentLoaded', () => {
    localTimes(document);
    timeZones();
    revealSecret();
    testEvents();
    typeChoice();
    focusProblem();
  });
})();
