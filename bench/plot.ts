// Hand-written SVG line charts: latency percentiles per system, and backlog drain (deliveries
// and resident memory over time). No plotting dependency; the files open in any browser.
import type { BacklogSample, Results, SystemKey } from './results.js';
import { percentile } from './stats.js';

export const COLORS: Record<SystemKey, string> = {
  ceiling: '#7f7f7f',
  pipeline: '#bcbd22',
  floor: '#9467bd',
  baseline: '#d62728',
  'tidings:pg': '#1f77b4',
  'tidings:pglite': '#2ca02c',
};

export const LABELS: Record<SystemKey, string> = {
  ceiling: 'ceiling (raw undici)',
  pipeline: 'pipeline ceiling (no store)',
  floor: 'durable floor (raw PostgreSQL)',
  baseline: 'baseline (pg-boss 10)',
  'tidings:pg': 'Tidings on PostgreSQL',
  'tidings:pglite': 'Tidings on PGlite',
};

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  /** Categorical x labels at 0, 1, 2, … instead of numbers. */
  xCategories?: string[];
}

const W = 640;
const H = 300;
const M = { left: 64, right: 16, top: 28, bottom: 44 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(n: number): string {
  if (Math.abs(n) >= 1e6) return `${n / 1e6}M`;
  if (Math.abs(n) >= 1e4) return `${n / 1e3}k`;
  return String(Number(n.toPrecision(4)));
}

/** One chart as an SVG <g> at vertical offset `top`. */
function chart(c: Chart, top: number): string {
  const pts = c.series.flatMap((s) => s.points);
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const parts: string[] = [`<g transform="translate(0,${top})">`];
  parts.push(
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`,
  );
  if (pts.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="12">no data</text></g>`);
    return parts.join('');
  }
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]).filter((y) => !c.logY || y > 0);
  const xMin = c.xCategories ? 0 : Math.min(0, ...xs);
  const xMax = c.xCategories ? c.xCategories.length - 1 : Math.max(...xs);
  let yMin = c.logY ? 10 ** Math.floor(Math.log10(Math.min(...ys))) : 0;
  let yMax = c.logY ? 10 ** Math.ceil(Math.log10(Math.max(...ys))) : Math.max(...ys) * 1.05;
  if (!(yMax > yMin)) {
    yMax = yMin + 1;
    yMin = c.logY ? yMin : 0;
  }
  const sx = (x: number) => M.left + (xMax > xMin ? ((x - xMin) / (xMax - xMin)) * iw : iw / 2);
  const sy = (y: number) =>
    c.logY
      ? M.top +
        ih -
        ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ih
      : M.top + ih - ((y - yMin) / (yMax - yMin)) * ih;
  // Axes and grid.
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${iw}" height="${ih}" fill="none" stroke="#ccc"/>`);
  const yTicks = c.logY
    ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i)
    : niceTicks(yMin, yMax);
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${M.left + iw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(
      `<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmt(t)}</text>`,
    );
  }
  const xTicks = c.xCategories ? c.xCategories.map((_, i) => i) : niceTicks(xMin, xMax, 8);
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    const label = c.xCategories ? (c.xCategories[t] ?? '') : fmt(t);
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.top + ih}" y2="${M.top + ih + 4}" stroke="#999"/>`);
    parts.push(
      `<text x="${x}" y="${M.top + ih + 16}" text-anchor="middle" font-size="11">${esc(label)}</text>`,
    );
  }
  parts.push(
    `<text x="${M.left + iw / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${esc(c.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(14,${M.top + ih / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(c.yLabel)}</text>`,
  );
  // Lines and legend.
  c.series.forEach((s, i) => {
    const d = s.points
      .filter((p) => !c.logY || p[1] > 0)
      .map((p, j) => `${j ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`)
      .join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    if (c.xCategories) {
      for (const p of s.points) {
        if (c.logY && p[1] <= 0) continue;
        parts.push(
          `<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`,
        );
      }
    }
    const ly = M.top + 12 + i * 15;
    parts.push(
      `<line x1="${M.left + 8}" x2="${M.left + 26}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="3"/>`,
    );
    parts.push(
      `<text x="${M.left + 30}" y="${ly}" dominant-baseline="middle" font-size="11">${esc(s.name)}</text>`,
    );
  });
  parts.push('</g>');
  return parts.join('');
}

function svg(charts: Chart[]): string {
  const body = charts.map((c, i) => chart(c, i * H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * charts.length}" viewBox="0 0 ${W} ${H * charts.length}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}

export const LATENCY_PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9];

export function latencySvg(results: Results, systems: SystemKey[]): string {
  const series: Series[] = [];
  for (const key of systems) {
    const l = results.latency.get(key);
    if (!l) continue;
    series.push({
      name: `${LABELS[key]} @ ${Math.round(l.rate)}/s`,
      color: COLORS[key],
      points: LATENCY_PERCENTILES.map((p, i) => [i, percentile(l.sorted, p)]),
    });
  }
  return svg([
    {
      title: 'Publish → receipt latency at half of each system’s maximum',
      xLabel: 'percentile',
      yLabel: 'milliseconds (log scale)',
      series,
      logY: true,
      xCategories: LATENCY_PERCENTILES.map((p) => `p${p}`),
    },
  ]);
}

export function backlogSvg(results: Results, systems: SystemKey[]): string {
  const pick = (f: (s: BacklogSample) => number): Series[] =>
    systems
      .filter((k) => results.backlog.has(k))
      .map((k) => ({
        name: LABELS[k],
        color: COLORS[k],
        points: results.backlog.get(k)!.map((s) => [s.t, f(s)]),
      }));
  return svg([
    {
      title: 'Backlog drain: deliveries received',
      xLabel: 'seconds since delivery started',
      yLabel: 'delivered',
      series: pick((s) => s.delivered),
    },
    {
      title: 'Backlog drain: deliveries/s between samples',
      xLabel: 'seconds since delivery started',
      yLabel: 'per second',
      series: pick((s) => s.rate),
    },
    {
      title: 'Backlog drain: resident memory of the delivering process',
      xLabel: 'seconds since delivery started',
      yLabel: 'RSS (MB)',
      series: pick((s) => s.rssMb),
    },
  ]);
}
