// The results file for one engine: machine, conditions, every figure with Tidings's ratio to
// each reference (raw sender ceiling, pipeline ceiling, durable floor, pg-boss baseline), the
// issues' targets, statements per delivered event, the scale-out row, CPU per process, notes
// and errors.
import type { Machine } from './machine.js';
import type { EngineChoice, Options } from './options.js';
import { LABELS } from './plot.js';
import { type Figure, REFERENCES, type ReferenceKey, type Results, type SystemKey } from './results.js';
import { referenceBacklog } from './scenarios/backlog.js';
import { E2E_METRIC } from './scenarios/endToEnd.js';
import { projected } from './scenarios/scaleout.js';

export interface ReportInput {
  engine: EngineChoice;
  machine: Machine;
  opts: Options;
  results: Results;
  settings: {
    pipeline: Record<string, string>;
    floor: Record<string, string>;
    baseline: Record<string, string>;
    tidings: Record<string, string>;
  };
  plots: { latency: string; backlog: string };
  startedAt: Date;
  finishedAt: Date;
}

function num(n: number | undefined, unit: string): string {
  if (n === undefined || Number.isNaN(n)) return '';
  if (unit === '/s' || unit === '') return Math.round(n).toLocaleString('en-US');
  if (unit === 'MB' || unit === 'µs') return n.toFixed(0);
  if (unit === '×') return n.toFixed(2);
  if (unit === '/event') return n.toFixed(3);
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

function cell(f: Figure, key: SystemKey): string {
  const v = f.values[key];
  if (v !== undefined) return `${num(v, f.unit)}${f.unit && f.unit !== '×' ? ` ${f.unit}` : ''}`;
  return f.missing[key] ? `*${f.missing[key]}*` : '—';
}

function ratio(f: Figure, a: SystemKey, b: SystemKey): string {
  if (!['/s', 'ms', '×', 'µs', '/event'].includes(f.unit)) return '';
  const x = f.values[a];
  const y = f.values[b];
  if (x === undefined || y === undefined || !(y > 0)) return '';
  return `${(x / y).toFixed(2)}×`;
}

/** Column headings of the references, in table order. */
const HEADS: Record<ReferenceKey, [column: string, ratio: string]> = {
  ceiling: ['raw sender ceiling', '/ceiling'],
  pipeline: ['pipeline ceiling', '/pipeline'],
  floor: ['durable floor', '/floor'],
  baseline: ['baseline (pg-boss)', '/pg-boss'],
};

export function tidingsOf(engine: EngineChoice): SystemKey {
  return engine === 'pg' ? 'tidings:pg' : 'tidings:pglite';
}

/** The main table; the README quotes it. Tidings's ratio to every reference measured in the run. */
export function figuresTable(results: Results, engine: EngineChoice): string {
  const t = tidingsOf(engine);
  const lines = [
    `| scenario | figure | ${REFERENCES.map((k) => HEADS[k][0]).join(' | ')} | Tidings (${engine === 'pg' ? 'PostgreSQL' : 'PGlite'}) | ${REFERENCES.map((k) => `Tidings${HEADS[k][1]}`).join(' | ')} |`,
    `| --- | --- | ${[...REFERENCES, t, ...REFERENCES].map(() => '---:').join(' | ')} |`,
  ];
  for (const f of results.figures) {
    const cells = [
      ...REFERENCES.map((k) => cell(f, k)),
      cell(f, t),
      ...REFERENCES.map((k) => ratio(f, t, k)),
    ];
    lines.push(
      `| ${f.scenario} | ${f.metric}${f.higherIsBetter ? '' : ' (lower is better)'} | ${cells.join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

interface Target {
  issue: number;
  what: string;
  shown: string;
  met: boolean | undefined;
}

const BATCH_E2E = /^deliveries\/s, batch publish/;

/** The issues' benchmark targets, checked against this run's figures. */
function targets(results: Results, t: SystemKey): Target[] {
  const v = (k: SystemKey, scenario: string, metric: string | RegExp) =>
    typeof metric === 'string'
      ? results.value(k, scenario, metric)
      : results.figures.find((f) => f.scenario === scenario && metric.test(f.metric))?.values[k];
  const quotient = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  const times = (x: number | undefined) => `${x?.toFixed(2)}×`;
  const pct = (x: number | undefined) => `${((x ?? 0) * 100).toFixed(0)} %`;
  const out: Target[] = [];
  const add = (
    issue: number,
    what: string,
    x: number | undefined,
    shown: string,
    ok: (x: number) => boolean,
  ) =>
    out.push({
      issue,
      what,
      shown: x === undefined ? 'not measured' : shown,
      met: x === undefined ? undefined : ok(x),
    });
  const single = v(t, 'e2e', E2E_METRIC);
  const batch = v(t, 'e2e', BATCH_E2E);
  const vsBoss = quotient(single, v('baseline', 'e2e', E2E_METRIC));
  add(12, 'single-publish e2e ≥ 3× pg-boss', vsBoss, times(vsBoss), (x) => x >= 3);
  const vsFloor = quotient(single, v('floor', 'e2e', E2E_METRIC));
  add(12, 'single-publish e2e ≥ 70 % of the durable floor', vsFloor, pct(vsFloor), (x) => x >= 0.7);
  const vsCeil = quotient(batch, v('ceiling', 'e2e', BATCH_E2E));
  add(12, 'batch-publish e2e ≥ 50 % of the raw sender ceiling', vsCeil, pct(vsCeil), (x) => x >= 0.5);
  const p99 = v(t, 'latency', 'publish → receipt p99');
  add(12, 'publish → receipt p99 ≤ 50 ms at half load', p99, `${p99?.toFixed(1)} ms`, (x) => x <= 50);
  const fan = /^deliveries\/s \(1 event → /;
  const fanBoss = quotient(v(t, 'fanout', fan), v('baseline', 'fanout', fan));
  add(12, 'fan-out 1 → 100 deliveries/s ≥ 3× pg-boss', fanBoss, times(fanBoss), (x) => x >= 3);
  if (t === 'tidings:pglite') {
    const shown = `${Math.round(single ?? 0).toLocaleString('en-US')}/s`;
    add(12, 'PGlite single-publish e2e ≥ 2.5× 1,044/s (2,610/s)', single, shown, (x) => x >= 2610);
  }
  for (const label of ['single publishes', 'batch publish']) {
    const x = v(t, 'e2e', `${label}: statements per delivered event`);
    add(12, `statements per delivered event ≤ 0.1 (e2e, ${label})`, x, x?.toFixed(3) ?? '', (y) => y <= 0.1);
  }
  const iso = v(t, 'isolation', 'isolation ratio (hanging / all answering)');
  add(9, 'isolation ratio ≥ 0.9', iso, iso?.toFixed(2) ?? '', (x) => x >= 0.9);
  const rss = (m: string) => v(t, 'backlog', m)?.toFixed(0);
  const rssMax = v(t, 'backlog', 'RSS max during drain');
  const rssShown = `start ${rss('RSS at drain start')} MB, max ${rss('RSS max during drain')} MB, end ${rss('RSS at drain end')} MB`;
  add(9, 'backlog drain RSS flat, under 300 MB', rssMax, rssShown, (x) => x < 300);
  return out;
}

/** Statements per delivered event by statement, for every system and run that counted them. */
function statementsSection(results: Results, shown: Set<SystemKey>): string[] {
  const recs = results.statements.filter((r) => shown.has(r.system));
  if (recs.length === 0) return [];
  const out = [
    '## Statements per delivered event',
    '',
    "Counted by PostgreSQL: `log_statement = all` on the system's own sessions only, read back from the",
    "server log (pg_stat_statements is not in this server's shared_preload_libraries, and the shared",
    'server cannot be restarted for a run; see bench/statements.ts). Every statement a client sends is',
    'one line: a simple query, or one execution of a prepared or unnamed statement. Publishing,',
    'claiming, acking and any background work of the run are all in the count.',
    '',
    '| system | run | delivered | statements | per delivered event | top statements (per delivered event) |',
    '| --- | --- | ---: | ---: | ---: | --- |',
  ];
  for (const r of recs) {
    const top = Object.entries(r.byName)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(
        ([name, n]) => `\`${name.replace(/\|/g, '\\|').replace(/`/g, "'")}\` ${(n / r.delivered).toFixed(3)}`,
      )
      .join('; ');
    out.push(
      `| ${LABELS[r.system]} | ${r.run} | ${r.delivered.toLocaleString('en-US')} | ${r.total.toLocaleString('en-US')} | ${(r.total / r.delivered).toFixed(3)} | ${top} |`,
    );
  }
  out.push('');
  return out;
}

/** The scale-out runs and what more cores would give, worked out from CPU per delivery. */
function scaleOutSection(results: Results, t: SystemKey, cores: number): string[] {
  const runs = results.scaleOut.get(t);
  if (!runs?.length) return [];
  const out = [
    '## Scale-out',
    '',
    'One `--roles api` process and N `--roles worker` processes on one PostgreSQL database, publishing in',
    'batches while delivering to one endpoint (its `max_in_flight` lets every worker fill its slots).',
    '',
    '| worker processes | deliveries/s | api µs / delivery | workers µs / delivery | PostgreSQL µs / delivery | total µs / delivery | machine busy |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of runs) {
    const total = r.apiUs + r.workersUs + r.postgresUs;
    out.push(
      `| ${r.workers} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.apiUs.toFixed(0)} | ${r.workersUs.toFixed(0)} | ${r.postgresUs.toFixed(0)} | ${total.toFixed(0)} | ${(r.machineBusy * 100).toFixed(0)} % |`,
    );
  }
  const last = runs[runs.length - 1]!;
  const first = runs[0]!;
  const us = last.apiUs + last.workersUs + last.postgresUs;
  out.push('');
  out.push(
    `With ${last.workers} worker process${last.workers === 1 ? '' : 'es'} a delivery costs ${us.toFixed(0)} µs of CPU in the service and PostgreSQL together ` +
      `(${(last.apiUs + last.workersUs).toFixed(0)} µs service, ${last.postgresUs.toFixed(0)} µs PostgreSQL). If CPU were the only limit, and the ` +
      `receiver and the publishers ran elsewhere, 4 cores would carry about ${Math.round(projected(last, 4)).toLocaleString('en-US')} deliveries/s and 8 cores about ` +
      `${Math.round(projected(last, 8)).toLocaleString('en-US')}/s (${(1e6 / us).toFixed(0)}/s per core). ` +
      `On this machine's ${cores} cores, shared with the harness, ${last.workers} workers gave ${(last.perSecond / first.perSecond).toFixed(2)}× one worker's rate ` +
      `(${Math.round(first.perSecond).toLocaleString('en-US')}/s → ${Math.round(last.perSecond).toLocaleString('en-US')}/s). ` +
      "The estimate leaves out what CPU does not show: row-lock waits, WAL flushes (one per commit), and the one endpoint's in-flight cap.",
  );
  out.push('');
  return out;
}

function kv(title: string, o: Record<string, string>): string {
  return [`**${title}**`, '', ...Object.entries(o).map(([k, v]) => `- ${k}: ${v}`)].join('\n');
}

export function reportMarkdown(r: ReportInput): string {
  const { results, machine: m, opts } = r;
  const t = tidingsOf(r.engine);
  const shown = new Set<SystemKey>([...REFERENCES, t]);
  const s = opts.sizes;
  const out: string[] = [];
  out.push(
    `# Tidings benchmark, ${opts.date}, ${r.engine === 'pg' ? 'PostgreSQL' : 'PGlite'}${opts.quick ? ' (quick smoke run: tiny sizes, not a measurement)' : ''}`,
  );
  out.push('');
  out.push(
    `Run ${r.startedAt.toISOString()} → ${r.finishedAt.toISOString()}, commit ${m.commit}${m.srcChanges ? ` with ${m.srcChanges} files under src/ changed or new in the working tree at the start` : ''}, \`${['tsx bench/run.ts', ...process.argv.slice(2)].join(' ')}\`. The service is started from the working tree for each run, so a change landing meanwhile shows in the runs after it.`,
  );
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push(
    '| cores | CPU | memory | OS | Node | PostgreSQL | PGlite | pg-boss | undici | load average at start |',
  );
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  out.push(
    `| ${m.cores} | ${m.cpuModel} | ${m.memoryGiB} GiB | ${m.os} | ${m.node} | ${m.postgres} | ${m.pglite} | ${m.pgBoss} | ${m.undici} | ${m.loadAtStart} |`,
  );
  out.push('');
  out.push(
    'Everything ran on this one machine: the system under test, PostgreSQL, the receiver and the load generator',
  );
  out.push(
    'share its cores (see the CPU table). Figures vary from run to run; compare ratios within one run.',
  );
  out.push('');
  out.push('## Figures');
  out.push('');
  out.push(figuresTable(results, r.engine));
  out.push('');
  out.push(
    'Ratios are plain quotients of two figures of this run: above 1 means Tidings is bigger (faster for /s;',
  );
  out.push('slower, costlier or chattier for ms, µs and statements).');
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push('| issue | target | reached | verdict |');
  out.push('| ---: | --- | --- | --- |');
  for (const x of targets(results, t)) {
    out.push(
      `| ${x.issue} | ${x.what} | ${x.shown} | ${x.met === undefined ? '—' : x.met ? 'met' : 'short'} |`,
    );
  }
  out.push('');
  out.push(...statementsSection(results, shown));
  out.push(...scaleOutSection(results, t, m.cores));
  out.push('## Plots');
  out.push('');
  out.push(`![latency percentiles](${r.plots.latency})`);
  out.push('');
  out.push(`![backlog drain](${r.plots.backlog})`);
  out.push('');
  out.push('## Conditions');
  out.push('');
  out.push(
    kv('Sizes', {
      'in flight toward the receiver (every system)': String(s.concurrency),
      payload: `${s.payloadBytes} bytes of JSON, \`standard\` envelope, HMAC-SHA256 per request`,
      'attempt timeout (every system)': `${s.timeoutMs} ms`,
      publish: `${s.publishCount} single publishes by ${s.publishClients} clients; ${s.batchCount} batches of ${s.batchEvents}`,
      'end to end': `${s.e2eEvents} events to 1 endpoint, published while delivering: single publishes by ${s.publishClients} clients, then batches of ${s.e2eBatchEvents} by ${s.e2eBatchClients} clients`,
      'scale-out': `${s.scaleoutEvents} events to 1 endpoint in batches of ${s.e2eBatchEvents} by ${s.e2eBatchClients} clients; 1 api process + 1…${s.scaleoutWorkers} worker processes`,
      'fan-out': `${s.fanoutEvents} events × ${s.fanoutEndpoints} endpoints, published by ${s.fanoutClients} clients`,
      latency: `${s.latencyDurationMs / 1000} s at half the end-to-end maximum (open loop, scheduled-time stamps), after a warm-up of ${s.latencyWarmupMs / 1000} s at the same rate whose publishes are left out of the percentiles (its p99 is reported apart)`,
      isolation: `${s.isolationEvents} events × ${s.isolationEndpoints} endpoints, one of them never answering`,
      backlog: `${referenceBacklog(opts)} deliveries (PGlite: ${s.backlogDeliveriesPglite}) over ${s.backlogEndpoints} endpoints, seeded while not delivering; drain limit ${s.drainLimitMs / 60000} min`,
    }),
  );
  out.push('');
  out.push(
    kv('Raw sender ceiling', {
      sender: `undici Pool, ${s.concurrency} keep-alive connections, no store; signs every request`,
      'publish ceiling': 'node:http parsing each body and answering 202, no store',
    }),
  );
  out.push('');
  out.push(kv('Pipeline ceiling', r.settings.pipeline));
  out.push('');
  out.push(kv('Durable floor', r.settings.floor));
  out.push('');
  out.push(kv('Baseline', r.settings.baseline));
  out.push('');
  out.push(kv('Tidings', r.settings.tidings));
  out.push('');
  out.push(
    kv('Receiver and load', {
      receiver: 'node:http in its own process, keep-alive, answers 200 at once (hang path: never)',
      load: 'undici in its own process; closed loop for throughput, open loop for latency',
      clocks: 'publish and receipt stamps from performance.timeOrigin + performance.now() in each process',
    }),
  );
  out.push('');
  out.push('## CPU per run');
  out.push('');
  out.push(
    'CPU seconds used during each measured run. "harness" is the harness, the receiver and the load generator',
  );
  out.push(
    'together; "system" is the process under test (the ceiling sender, a reference system\'s process, or the Tidings',
  );
  out.push(
    'process or processes); PostgreSQL is every server process on the machine, summed per process (a lower bound: a backend that',
  );
  out.push('exits during a run takes its CPU with it).');
  out.push('');
  out.push(
    '| scenario | system | wall s | system CPU s | harness CPU s (harness / receiver / load) | PostgreSQL CPU s | machine busy |',
  );
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  let harnessTotal = 0;
  for (const c of results.cpu) {
    if (!shown.has(c.system)) continue;
    const h = c.use.seconds;
    const harness = (h.harness ?? 0) + (h.receiver ?? 0) + (h.load ?? 0);
    harnessTotal += harness;
    out.push(
      `| ${c.scenario} | ${LABELS[c.system]} | ${c.use.wallSeconds} | ${sec(h.sut)} | ${harness.toFixed(2)} (${sec(h.harness)} / ${sec(h.receiver)} / ${sec(h.load)}) | ${sec(c.use.postgresSeconds)} | ${(c.use.machineBusy * 100).toFixed(0)} % |`,
    );
  }
  out.push('');
  out.push(
    `The harness's own processes used ${harnessTotal.toFixed(1)} CPU seconds over the measured runs above.`,
  );
  const notes = results.notes.filter((n) => n.system === 'all' || shown.has(n.system));
  if (notes.length) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const n of notes)
      out.push(`- ${n.scenario}, ${n.system === 'all' ? 'all' : LABELS[n.system]}: ${n.text}`);
  }
  const errors = results.errors.filter((e) => shown.has(e.system));
  if (errors.length) {
    out.push('');
    out.push('## Errors');
    out.push('');
    for (const e of errors)
      out.push(`- ${e.scenario}, ${LABELS[e.system]}: ${e.message.split('\n').slice(0, 6).join(' ⏎ ')}`);
  }
  out.push('');
  return out.join('\n');
}

/** CPU seconds as the table shows them (the JSON keeps them to the microsecond). */
function sec(n: number | undefined): string {
  return (n ?? 0).toFixed(2);
}
