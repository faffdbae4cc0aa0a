// The endpoint page's chart: success rate and attempt latency over the last 7 days, one
// point per hour, drawn on the server as SVG (no script, no library). Hours without attempts
// leave a gap in the lines.
import { type Html, html } from '../html.js';

export interface StatsBucketJson {
  start: string;
  attempts: number;
  attempts_succeeded: number;
  deliveries: { succeeded: number; failed: number };
  first_attempts: number;
  first_attempt_success_rate: number | null;
  latency_ms: { p50: number; p95: number; p99: number; max: number };
  disabled_seconds: number;
  circuit_open_seconds: number;
}

export interface StatsJson {
  since: string;
  until: string;
  through: string | null;
  buckets: StatsBucketJson[];
  total: Omit<StatsBucketJson, 'start'>;
}

const W = 720;
const H = 140;
const PAD = { left: 44, right: 8, top: 10, bottom: 22 };

/** An SVG path through the points, broken where a value is missing. */
function path(values: (number | null)[], y: (v: number) => number): string {
  const step = (W - PAD.left - PAD.right) / Math.max(1, values.length - 1);
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${(PAD.left + i * step).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

/** A dot per point, so that an hour between two gaps still shows. */
function dots(values: (number | null)[], y: (v: number) => number, cls: string): Html {
  const step = (W - PAD.left - PAD.right) / Math.max(1, values.length - 1);
  return html`${values.map((v, i) =>
    v === null
      ? ''
      : html`<circle class="dot ${cls}" cx="${(PAD.left + i * step).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5"></circle>`,
  )}`;
}

function axis(labels: [number, string][], y: (v: number) => number, days: string[]): Html {
  const step = (W - PAD.left - PAD.right) / Math.max(1, days.length);
  return html`${labels.map(
    ([
      v,
      text,
    ]) => html`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"></line>
  <text class="tick" x="${PAD.left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${text}</text>`,
  )}
  ${days.map(
    (d, i) =>
      html`<text class="tick" x="${(PAD.left + (i + 0.5) * step).toFixed(1)}" y="${H - 6}" text-anchor="middle">${d}</text>`,
  )}`;
}

function pct(v: number | null): string {
  return v === null ? '—' : `${Math.round(v * 1000) / 10}%`;
}

export function statsChart(s: StatsJson | { problem: string }): Html {
  if ('problem' in s) return html`<p class="muted">${s.problem}</p>`;
  const b = s.buckets;
  const t = s.total;
  if (t.attempts === 0) {
    return html`<p class="muted" id="stats-empty">No attempts in the last 7 days${s.through ? '' : ' (statistics are computed every minute)'}.</p>`;
  }
  const rate = b.map((x) => (x.attempts === 0 ? null : x.attempts_succeeded / x.attempts));
  const p50 = b.map((x) => (x.attempts === 0 ? null : x.latency_ms.p50));
  const p95 = b.map((x) => (x.attempts === 0 ? null : x.latency_ms.p95));
  const top = Math.max(10, ...b.map((x) => (x.attempts === 0 ? 0 : x.latency_ms.p95)));
  const plotH = H - PAD.top - PAD.bottom;
  const yRate = (v: number) => PAD.top + (1 - v) * plotH;
  const yMs = (v: number) => PAD.top + (1 - v / top) * plotH;
  const days = Array.from({ length: Math.round(b.length / 24) }, (_, i) =>
    new Date(Date.parse(s.since) + i * 86_400_000).toISOString().slice(5, 10),
  );
  const down = t.disabled_seconds + t.circuit_open_seconds;
  return html`<dl class="props stats-summary">
  <dt>Attempts</dt><dd data-stat="attempts">${t.attempts}</dd>
  <dt>Succeeded</dt><dd data-stat="success-rate">${pct(t.attempts_succeeded / t.attempts)}</dd>
  <dt>First attempts that succeeded</dt><dd data-stat="first-attempt-rate">${pct(t.first_attempt_success_rate)}</dd>
  <dt>Latency p50 / p95 / p99</dt><dd data-stat="latency">${t.latency_ms.p50} / ${t.latency_ms.p95} / ${t.latency_ms.p99} ms</dd>
  <dt>Deliveries succeeded / given up</dt><dd data-stat="deliveries">${t.deliveries.succeeded} / ${t.deliveries.failed}</dd>
  ${down > 0 ? html`<dt>Disabled / circuit open</dt><dd data-stat="down">${Math.round(t.disabled_seconds / 60)} min / ${Math.round(t.circuit_open_seconds / 60)} min</dd>` : ''}
</dl>
<figure class="chart">
  <svg id="chart-success" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-success-t">
    <title id="chart-success-t">Share of attempts that succeeded, per hour, last 7 days</title>
    ${axis(
      [
        [0, '0%'],
        [0.5, '50%'],
        [1, '100%'],
      ],
      yRate,
      days,
    )}
    <path class="line line-rate" d="${path(rate, yRate)}"></path>
    ${dots(rate, yRate, 'dot-rate')}
  </svg>
  <figcaption>Success rate per hour</figcaption>
</figure>
<figure class="chart">
  <svg id="chart-latency" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-latency-t">
    <title id="chart-latency-t">Attempt latency p50 and p95 in milliseconds, per hour, last 7 days</title>
    ${axis(
      [
        [0, '0'],
        [top / 2, `${Math.round(top / 2)}`],
        [top, `${top} ms`],
      ],
      yMs,
      days,
    )}
    <path class="line line-p95" d="${path(p95, yMs)}"></path>
    <path class="line line-p50" d="${path(p50, yMs)}"></path>
    ${dots(p95, yMs, 'dot-p95')}${dots(p50, yMs, 'dot-p50')}
  </svg>
  <figcaption>Latency per hour: <span class="key key-p50">p50</span> <span class="key key-p95">p95</span></figcaption>
</figure>
<p class="hint small">Counted from attempts recorded up to ${s.through ? new Date(s.through).toISOString().slice(0, 16).replace('T', ' ') : '—'} UTC.</p>`;
}
