// The results file for one engine: machine, conditions, every figure with the ratios
// Tidings/ceiling and Tidings/baseline, the issue's targets, CPU per process, notes and errors.
import type { Machine } from './machine.js';
import type { EngineChoice, Options } from './options.js';
import { LABELS } from './plot.js';
import type { Figure, Results, SystemKey } from './results.js';

export interface ReportInput {
  engine: EngineChoice;
  machine: Machine;
  opts: Options;
  results: Results;
  settings: { baseline: Record<string, string>; tidings: Record<string, string> };
  plots: { latency: string; backlog: string };
  startedAt: Date;
  finishedAt: Date;
}

function num(n: number | undefined, unit: string): string {
  if (n === undefined || Number.isNaN(n)) return '';
  if (unit === '/s' || unit === '') return Math.round(n).toLocaleString('en-US');
  if (unit === 'MB') return n.toFixed(0);
  if (unit === '×') return n.toFixed(2);
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

function cell(f: Figure, key: SystemKey): string {
  const v = f.values[key];
  if (v !== undefined) return `${num(v, f.unit)}${f.unit && f.unit !== '×' ? ` ${f.unit}` : ''}`;
  return f.missing[key] ? `*${f.missing[key]}*` : '—';
}

function ratio(f: Figure, a: SystemKey, b: SystemKey): string {
  if (!['/s', 'ms', '×'].includes(f.unit)) return '';
  const x = f.values[a];
  const y = f.values[b];
  if (x === undefined || y === undefined || !(y > 0)) return '';
  return `${(x / y).toFixed(2)}×`;
}

/** The main table; the README quotes it. */
export function figuresTable(results: Results, engine: EngineChoice): string {
  const t: SystemKey = engine === 'pg' ? 'tidings:pg' : 'tidings:pglite';
  const lines = [
    `| scenario | figure | ceiling | baseline (pg-boss) | Tidings (${engine === 'pg' ? 'PostgreSQL' : 'PGlite'}) | Tidings/ceiling | Tidings/baseline |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const f of results.figures) {
    lines.push(
      `| ${f.scenario} | ${f.metric}${f.higherIsBetter ? '' : ' (lower is better)'} | ${cell(f, 'ceiling')} | ${cell(f, 'baseline')} | ${cell(f, t)} | ${ratio(f, t, 'ceiling')} | ${ratio(f, t, 'baseline')} |`,
    );
  }
  return lines.join('\n');
}

interface Target {
  what: string;
  value: number | undefined;
  shown: string;
  met: boolean | undefined;
}

function targets(results: Results, t: SystemKey): Target[] {
  const e2e = (k: SystemKey) => results.value(k, 'e2e', 'deliveries/s (1 endpoint, 1 KiB)');
  const te = e2e(t);
  const ce = e2e('ceiling');
  const be = e2e('baseline');
  const vsCeil = te !== undefined && ce ? te / ce : undefined;
  const vsBase = te !== undefined && be ? te / be : undefined;
  const p99 = results.value(t, 'latency', 'publish → receipt p99');
  const iso = results.value(t, 'isolation', 'isolation ratio (hanging / all answering)');
  const rssMax = results.value(t, 'backlog', 'RSS max during drain');
  const rssStart = results.value(t, 'backlog', 'RSS at drain start');
  const rssEnd = results.value(t, 'backlog', 'RSS at drain end');
  const pct = (x: number | undefined) => (x === undefined ? 'not measured' : `${(x * 100).toFixed(0)} %`);
  return [
    {
      what: 'end-to-end ≥ 60 % of the ceiling',
      value: vsCeil,
      shown: pct(vsCeil),
      met: vsCeil === undefined ? undefined : vsCeil >= 0.6,
    },
    {
      what: 'end-to-end ≥ 3× the pg-boss baseline',
      value: vsBase,
      shown: vsBase === undefined ? 'not measured' : `${vsBase.toFixed(2)}×`,
      met: vsBase === undefined ? undefined : vsBase >= 3,
    },
    {
      what: 'p99 publish → receipt at half load < 50 ms',
      value: p99,
      shown: p99 === undefined ? 'not measured' : `${p99.toFixed(1)} ms`,
      met: p99 === undefined ? undefined : p99 < 50,
    },
    {
      what: 'isolation ratio ≥ 0.9',
      value: iso,
      shown: iso === undefined ? 'not measured' : iso.toFixed(2),
      met: iso === undefined ? undefined : iso >= 0.9,
    },
    {
      what: 'backlog drain RSS flat, under 300 MB',
      value: rssMax,
      shown:
        rssMax === undefined
          ? 'not measured'
          : `start ${rssStart?.toFixed(0)} MB, max ${rssMax.toFixed(0)} MB, end ${rssEnd?.toFixed(0)} MB`,
      met: rssMax === undefined ? undefined : rssMax < 300,
    },
  ];
}

function kv(title: string, o: Record<string, string>): string {
  return [`**${title}**`, '', ...Object.entries(o).map(([k, v]) => `- ${k}: ${v}`)].join('\n');
}

export function reportMarkdown(r: ReportInput): string {
  const { results, machine: m, opts } = r;
  const t: SystemKey = r.engine === 'pg' ? 'tidings:pg' : 'tidings:pglite';
  const shown = new Set<SystemKey>(['ceiling', 'baseline', t]);
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
  out.push('Ratios are plain quotients: above 1 means Tidings is bigger (faster for /s, slower for ms).');
  out.push('');
  out.push('## Targets (issue 9)');
  out.push('');
  out.push('| target | reached | verdict |');
  out.push('| --- | --- | --- |');
  for (const x of targets(results, t)) {
    out.push(`| ${x.what} | ${x.shown} | ${x.met === undefined ? '—' : x.met ? 'met' : 'short'} |`);
  }
  out.push('');
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
      'end to end': `${s.e2eEvents} events to 1 endpoint, published by ${s.publishClients} clients while delivering`,
      'fan-out': `${s.fanoutEvents} events × ${s.fanoutEndpoints} endpoints, published by ${s.fanoutClients} clients`,
      latency: `${s.latencyDurationMs / 1000} s at half the end-to-end maximum (open loop, scheduled-time stamps)`,
      isolation: `${s.isolationEvents} events × ${s.isolationEndpoints} endpoints, one of them never answering`,
      backlog: `${s.backlogDeliveries} deliveries (PGlite: ${s.backlogDeliveriesPglite}) over ${s.backlogEndpoints} endpoints, seeded while not delivering; drain limit ${s.drainLimitMs / 60000} min`,
    }),
  );
  out.push('');
  out.push(
    kv('Ceiling', {
      sender: `undici Pool, ${s.concurrency} keep-alive connections, no store; signs every request`,
      'publish ceiling': 'node:http parsing each body and answering 202, no store',
    }),
  );
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
    'together; "system" is the process under test (the ceiling sender, the pg-boss process, or the Tidings process);',
  );
  out.push(
    'PostgreSQL is every server process on the machine, summed per process (a lower bound: a backend that',
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
      `| ${c.scenario} | ${LABELS[c.system]} | ${c.use.wallSeconds} | ${h.sut ?? 0} | ${harness.toFixed(2)} (${h.harness ?? 0} / ${h.receiver ?? 0} / ${h.load ?? 0}) | ${c.use.postgresSeconds} | ${(c.use.machineBusy * 100).toFixed(0)} % |`,
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
