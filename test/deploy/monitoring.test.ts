// The monitoring files in deploy/ name only metrics that exist: every metric in the Grafana
// dashboard's and the alert rules' expressions is one that TidingsMetrics or prom-client's
// process metrics register; the compose file runs the roles the issue asks for, and
// Prometheus scrapes each of them on the ops port the image sets.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { processMetrics, TidingsMetrics } from '../../src/observability/metrics.js';
import { parseDockerfile } from '../helpers/dockerfile.js';

function registered(): Set<string> {
  const m = new TidingsMetrics({ version: 'test', circuitOpenAfter: 5 });
  const names = new Set<string>();
  for (const metric of [...m.registry.getMetricsAsArray(), ...processMetrics().getMetricsAsArray()]) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** Metric names in a PromQL expression (functions, label names and keywords are not metrics). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b((?:tidings|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

describe('deploy/ monitoring files', () => {
  const known = registered();

  it('the Grafana dashboard shows only real metrics, and every headline metric of the issue', () => {
    const dash = JSON.parse(readFileSync('deploy/grafana/dashboards/tidings.json', 'utf8')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const used = dash.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsIn(t.expr)));
    expect(used.length).toBeGreaterThan(10);
    for (const name of used) expect(known, name).toContain(name);
    for (const name of [
      'tidings_oldest_pending_age_seconds',
      'tidings_deliveries_pending',
      'tidings_endpoints',
      'tidings_attempts_total',
      'tidings_publish_to_delivery_seconds_bucket',
      'tidings_reminder_fire_lag_seconds_bucket',
      'tidings_store_statement_duration_seconds_bucket',
    ]) {
      expect(used).toContain(name);
    }
  });

  it('the alert rules use real metrics and cover queue age, failing endpoints, failure rate and reminder lag', () => {
    const rules = parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const all = rules.groups.flatMap((g) => g.rules);
    for (const r of all)
      for (const name of metricsIn(r.expr)) expect(known, `${r.alert}: ${name}`).toContain(name);
    const exprs = all.map((r) => r.expr).join('\n');
    for (const name of [
      'tidings_oldest_pending_age_seconds',
      'tidings_endpoints',
      'tidings_attempts_total',
      'tidings_reminder_fire_lag_seconds_bucket',
    ]) {
      expect(exprs).toContain(name);
    }
  });

  it('compose runs PostgreSQL, one api, two workers and one scheduler; Prometheus scrapes their ops port', () => {
    const compose = parse(readFileSync('deploy/compose.yaml', 'utf8')) as {
      services: Record<string, { command?: string[]; deploy?: { replicas?: number }; image?: string }>;
    };
    const s = compose.services;
    expect(s.postgres?.image).toMatch(/^postgres:/);
    const roles = (name: string) => s[name]?.command?.slice(s[name]!.command!.indexOf('--roles') + 1)[0];
    expect([roles('api'), roles('worker'), roles('scheduler')]).toEqual(['api', 'worker', 'scheduler']);
    expect(s.api?.deploy?.replicas ?? 1).toBe(1);
    expect(s.worker?.deploy?.replicas).toBe(2);
    expect(s.scheduler?.deploy?.replicas ?? 1).toBe(1);

    const image = parseDockerfile(readFileSync('Dockerfile', 'utf8')).at(-1)!;
    const opsPort = /TIDINGS_OPS_PORT=(\d+)/.exec(image.steps.map((x) => x.args).join(' '))?.[1];
    const prom = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as {
      scrape_configs: { metrics_path: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const job = prom.scrape_configs[0]!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.dns_sd_configs[0]!.names.sort()).toEqual(['api', 'scheduler', 'worker']);
    expect(String(job.dns_sd_configs[0]!.port)).toBe(opsPort);
  });
});
