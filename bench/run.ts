// The benchmark harness: `npm run bench [-- --quick] [--engine pg|pglite|both] [--only …]`.
// Starts the receiver, the load generator and the ceiling sender in their own processes, runs
// every scenario for the references (the raw sender ceiling, the pipeline ceiling, the durable
// floor, the pg-boss baseline) and Tidings (on each engine asked for), and writes
// bench/results/<date>-<engine>.md (+ .json and SVG plots) for each engine.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Ctx } from './context.js';
import { extractPlans, logSize, serverLogPath, writePlans } from './explain.js';
import { Helper, REPO_DIR } from './ipc.js';
import { describeMachine, postgresVersion } from './machine.js';
import { type EngineChoice, type Options, parseArgs, type ScenarioName } from './options.js';
import { backlogSvg, latencySvg } from './plot.js';
import { figuresTable, reportMarkdown } from './report.js';
import { REFERENCES, Results, type SystemKey } from './results.js';
import { backlog } from './scenarios/backlog.js';
import type { Scenario } from './scenarios/common.js';
import { endToEnd } from './scenarios/endToEnd.js';
import { fanout } from './scenarios/fanout.js';
import { isolation } from './scenarios/isolation.js';
import { latency } from './scenarios/latency.js';
import { publish } from './scenarios/publish.js';
import { reminders } from './scenarios/reminders.js';
import { scaleout } from './scenarios/scaleout.js';
import { statementsUnavailable } from './statements.js';
import { DurableFloor } from './systems/floor.js';
import { cleanUpSchemas } from './systems/helperSystem.js';
import { PgBossBaseline } from './systems/pgBoss.js';
import { PipelineCeiling } from './systems/pipeline.js';
import { cleanUpTidings, DB_PREFIX, TidingsService } from './systems/tidings.js';
import type { QueueSystem } from './systems/types.js';

const ALL: Record<ScenarioName, Scenario> = {
  publish,
  e2e: endToEnd,
  fanout,
  latency,
  isolation,
  backlog,
  reminders,
  scaleout,
};

export interface RunOutcome {
  files: string[];
  results: Results;
}

function tidingsKey(e: EngineChoice): SystemKey {
  return e === 'pg' ? 'tidings:pg' : 'tidings:pglite';
}

/** Whether the service can be started yet (its CLI exists), and if not, why. */
function tidingsMissing(): string | undefined {
  const cli = path.join(REPO_DIR, 'src/cli.ts');
  if (!existsSync(cli)) return 'service not available (src/cli.ts missing)';
  if (!readFileSync(cli, 'utf8').includes('serve')) return 'service not available (no serve command)';
  return undefined;
}

/**
 * Copies the references' figures (and their backlog samples) from an earlier results JSON of
 * the same machine, so a run of Tidings alone still shows its ratios.
 */
function reuseEarlier(results: Results, file: string): SystemKey[] {
  const earlier = JSON.parse(readFileSync(file, 'utf8')) as {
    figures: Results['figures'];
    backlog?: Record<string, Results['backlog'] extends Map<SystemKey, infer V> ? V : never>;
  };
  const keys: SystemKey[] = [...REFERENCES];
  for (const f of earlier.figures) {
    for (const k of keys) {
      const v = f.values[k];
      if (v !== undefined) results.set(k, f.scenario, f.metric, v, f.unit, f.higherIsBetter);
      else if (f.missing[k]) results.absent(k, f.scenario, f.metric, f.unit, f.missing[k]!, f.higherIsBetter);
    }
  }
  for (const k of keys) {
    const samples = earlier.backlog?.[k];
    if (samples) results.backlog.set(k, samples);
  }
  results.note(
    'all',
    'all',
    `reference figures copied from ${path.relative(REPO_DIR, file)} (an earlier run on this machine, at its sizes)`,
  );
  return keys;
}

function updateReadme(engine: EngineChoice, table: string, file: string): void {
  const readme = path.join(REPO_DIR, 'bench/README.md');
  if (!existsSync(readme)) return;
  const start = `<!-- latest:${engine}:start -->`;
  const end = `<!-- latest:${engine}:end -->`;
  const text = readFileSync(readme, 'utf8');
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return;
  const block = `${start}\nFrom [${path.basename(file)}](results/${path.basename(file)}):\n\n${table}\n${end}`;
  writeFileSync(readme, text.slice(0, a) + block + text.slice(b + end.length));
}

export async function runBenchmark(opts: Options): Promise<RunOutcome> {
  const t0 = Date.now();
  const log = (m: string) =>
    process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);
  const startedAt = new Date();
  const results = new Results();
  const machine = await describeMachine(opts.databaseUrl);
  const pgOk = (await postgresVersion(opts.databaseUrl)).ok;
  log(`${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.postgres}`);
  const serverLog = serverLogPath(machine.postgres);
  const logFrom = logSize(serverLog);
  if (opts.explain)
    results.note(
      'all',
      'all',
      'auto_explain (ANALYZE) was on for the service: figures of this run are slowed',
    );

  const [receiver, load, ceiling] = await Promise.all([
    Helper.start('receiver.ts'),
    Helper.start('load.ts'),
    Helper.start('ceiling.ts'),
  ]);
  const { url: receiverOrigin } = await receiver.call<{ url: string }>('info');
  const ctx: Ctx = {
    opts,
    sizes: opts.sizes,
    results,
    receiver,
    load,
    ceiling,
    receiverOrigin,
    serverLog,
    statementsOff: !opts.statements
      ? 'not counted (--no-statements)'
      : pgOk
        ? await statementsUnavailable(opts.databaseUrl, serverLog)
        : 'not counted (no PostgreSQL)',
    log,
  };
  if (ctx.statementsOff && opts.statements) log(`statements: ${ctx.statementsOff}`);

  const reused = opts.reuseFrom ? reuseEarlier(results, opts.reuseFrom) : [];
  const skipped = new Map<SystemKey, string>();
  const queues: QueueSystem[] = [];
  const wanted = (k: 'pipeline' | 'floor' | 'baseline') => opts.systems.includes(k) && !reused.includes(k);
  if (wanted('pipeline')) queues.push(new PipelineCeiling(ctx));
  for (const [k, make] of [
    ['floor', () => new DurableFloor(ctx)],
    ['baseline', () => new PgBossBaseline(ctx)],
  ] as const) {
    if (!wanted(k)) continue;
    if (pgOk) queues.push(make());
    else skipped.set(k, `PostgreSQL at ${opts.databaseUrl} not reachable`);
  }
  const missing = tidingsMissing();
  for (const e of opts.engines) {
    if (!opts.systems.includes('tidings')) continue;
    if (missing) skipped.set(tidingsKey(e), missing);
    else if (e === 'pg' && !pgOk)
      skipped.set('tidings:pg', `PostgreSQL at ${opts.databaseUrl} not reachable`);
    else queues.push(new TidingsService(ctx, e));
  }
  for (const [k, why] of skipped) {
    results.note(k, 'all', why);
    log(`${k}: skipped, ${why}`);
  }

  try {
    for (const name of opts.only) {
      const sc = ALL[name];
      if (opts.systems.includes('ceiling') && !reused.includes('ceiling') && sc.ceiling) {
        log(`${name}: ceiling`);
        try {
          await sc.ceiling(ctx);
        } catch (err) {
          results.errors.push({
            system: 'ceiling',
            scenario: name,
            message: (err as Error).stack ?? String(err),
          });
          log(`${name}: ceiling failed: ${(err as Error).message}`);
        }
      }
      for (const sys of queues) {
        log(`${name}: ${sys.key}`);
        try {
          await sc.queue(ctx, sys);
        } catch (err) {
          results.errors.push({
            system: sys.key,
            scenario: name,
            message: (err as Error).stack ?? String(err),
          });
          log(`${name}: ${sys.key} failed: ${(err as Error).message}`);
        } finally {
          await sys.stop().catch((err: Error) => log(`${sys.key}: stop failed: ${err.message}`));
          await receiver.call('configure', {});
        }
      }
    }
  } finally {
    await Promise.all([receiver.stop(), load.stop(), ceiling.stop()]);
  }

  for (const f of results.figures) {
    for (const [k, why] of skipped) if (f.values[k] === undefined) f.missing[k] = why;
  }

  const finishedAt = new Date();
  mkdirSync(opts.outDir, { recursive: true });
  const files: string[] = [];
  const settings = {
    pipeline: new PipelineCeiling(ctx).settings(),
    floor: new DurableFloor(ctx).settings(),
    baseline: new PgBossBaseline(ctx).settings(),
    tidings: new TidingsService(ctx, 'pg').settings(),
  };
  if (opts.explain) {
    const plans = extractPlans(serverLog, logFrom, DB_PREFIX);
    const file = path.join(opts.outDir, `${opts.date}-explain.log`);
    writePlans(file, plans);
    files.push(file);
    log(`${plans.length} plans from ${serverLog} written to ${file}`);
  }
  for (const engine of opts.engines) {
    const base = `${opts.date}-${engine}${opts.quick ? '-quick' : ''}`;
    const shown: SystemKey[] = [...REFERENCES, tidingsKey(engine)];
    const plots = { latency: `${base}-latency.svg`, backlog: `${base}-backlog.svg` };
    writeFileSync(path.join(opts.outDir, plots.latency), latencySvg(results, shown));
    writeFileSync(path.join(opts.outDir, plots.backlog), backlogSvg(results, shown));
    const md = path.join(opts.outDir, `${base}.md`);
    writeFileSync(
      md,
      reportMarkdown({ engine, machine, opts, results, settings, plots, startedAt, finishedAt }),
    );
    const json = path.join(opts.outDir, `${base}.json`);
    writeFileSync(
      json,
      JSON.stringify(
        {
          engine,
          machine,
          quick: opts.quick,
          sizes: opts.sizes,
          settings,
          figures: results.figures,
          cpu: results.cpu,
          notes: results.notes,
          errors: results.errors,
          statements: results.statements,
          scaleOut: Object.fromEntries(results.scaleOut),
          latency: Object.fromEntries([...results.latency].map(([k, v]) => [k, { rate: v.rate, ...v.pct }])),
          backlog: Object.fromEntries(results.backlog),
        },
        null,
        2,
      ),
    );
    files.push(md, json, path.join(opts.outDir, plots.latency), path.join(opts.outDir, plots.backlog));
    const table = figuresTable(results, engine);
    if (!opts.quick && path.resolve(opts.outDir) === path.join(REPO_DIR, 'bench/results'))
      updateReadme(engine, table, md);
    process.stdout.write(`\n${md}\n\n${table}\n`);
  }
  log(`done: ${results.figureCount} figures, ${results.errors.length} errors`);
  return { files, results };
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename);
if (isMain) {
  // Interrupted: kill the services, drop their databases (10 s at most), then exit through
  // process.exit so the 'exit' hooks stop every child we started.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      const limit = new Promise((r) => setTimeout(r, 10_000));
      void Promise.race([Promise.all([cleanUpTidings(), cleanUpSchemas()]), limit]).finally(() =>
        process.exit(130),
      );
    });
  }
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  runBenchmark(opts).then(
    (r) => process.exit(r.results.figureCount > 0 ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
