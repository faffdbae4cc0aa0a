// Command-line flags and the sizes of each scenario: the full sizes, and tiny ones for
// `--quick` (a smoke run of about a minute that keeps the bench code from rotting).
import path from 'node:path';
import { REPO_DIR } from './ipc.js';

export type EngineChoice = 'pg' | 'pglite';
export const SCENARIOS = [
  'publish',
  'e2e',
  'fanout',
  'latency',
  'isolation',
  'backlog',
  'reminders',
  'scaleout',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const SYSTEMS = ['ceiling', 'pipeline', 'floor', 'baseline', 'tidings'] as const;
export type SystemKind = (typeof SYSTEMS)[number];

export interface Sizes {
  /** Requests in flight toward the receiver, for every system (worker concurrency). */
  concurrency: number;
  payloadBytes: number;
  /** Attempt timeout for every system; the hanging endpoint holds each attempt this long. */
  timeoutMs: number;
  publishClients: number;
  publishCount: number;
  batchEvents: number;
  batchCount: number;
  e2eEvents: number;
  /** Events per request in the batch-publish end-to-end run, and the clients sending them. */
  e2eBatchEvents: number;
  e2eBatchClients: number;
  fanoutEndpoints: number;
  fanoutEvents: number;
  fanoutClients: number;
  latencyDurationMs: number;
  /**
   * Sent at the same rate before the measured window, and left out of its percentiles: a
   * freshly started process runs cold code (V8 compiles it as it goes) on a fresh schema for
   * its first second or two, every system alike. Reported apart as the warm-up p99.
   */
  latencyWarmupMs: number;
  /** Used when the end-to-end scenario did not run, so half its maximum is unknown. */
  latencyFallbackRate: number;
  isolationEndpoints: number;
  isolationEvents: number;
  backlogDeliveries: number;
  /** PGlite is one in-process connection; its backlog may be smaller (stated in the results). */
  backlogDeliveriesPglite: number;
  backlogEndpoints: number;
  remindersCount: number;
  remindersCountPglite: number;
  /** Scale-out: events published (in batches of e2eBatchEvents) per run, and the most worker processes. */
  scaleoutEvents: number;
  scaleoutWorkers: number;
  /** Give up waiting for a drain after this long and report what was reached. */
  drainLimitMs: number;
  /** Give up waiting for any delivery scenario after this long. */
  waitLimitMs: number;
}

export const FULL: Sizes = {
  concurrency: 64,
  payloadBytes: 1024,
  timeoutMs: 15_000,
  publishClients: 64,
  publishCount: 20_000,
  batchEvents: 100,
  batchCount: 200,
  e2eEvents: 50_000,
  e2eBatchEvents: 100,
  e2eBatchClients: 16,
  fanoutEndpoints: 100,
  fanoutEvents: 500,
  fanoutClients: 16,
  latencyDurationMs: 20_000,
  latencyWarmupMs: 5_000,
  latencyFallbackRate: 500,
  isolationEndpoints: 10,
  isolationEvents: 5_000,
  backlogDeliveries: 1_000_000,
  backlogDeliveriesPglite: 200_000,
  backlogEndpoints: 100,
  remindersCount: 100_000,
  remindersCountPglite: 100_000,
  scaleoutEvents: 50_000,
  scaleoutWorkers: 3,
  drainLimitMs: 20 * 60_000,
  waitLimitMs: 10 * 60_000,
};

export const QUICK: Sizes = {
  concurrency: 16,
  payloadBytes: 1024,
  timeoutMs: 1_000,
  publishClients: 8,
  publishCount: 200,
  batchEvents: 10,
  batchCount: 20,
  e2eEvents: 200,
  e2eBatchEvents: 10,
  e2eBatchClients: 4,
  fanoutEndpoints: 100,
  fanoutEvents: 2,
  fanoutClients: 2,
  latencyDurationMs: 1_000,
  latencyWarmupMs: 200,
  latencyFallbackRate: 100,
  isolationEndpoints: 4,
  isolationEvents: 40,
  backlogDeliveries: 500,
  backlogDeliveriesPglite: 500,
  backlogEndpoints: 100,
  remindersCount: 200,
  remindersCountPglite: 200,
  scaleoutEvents: 200,
  scaleoutWorkers: 2,
  drainLimitMs: 60_000,
  waitLimitMs: 60_000,
};

export interface Options {
  quick: boolean;
  engines: EngineChoice[];
  only: ScenarioName[];
  systems: SystemKind[];
  sizes: Sizes;
  databaseUrl: string;
  outDir: string;
  /** Write a V8 CPU profile of the Tidings process for the end-to-end scenario. */
  cpuProf: boolean;
  /** Log the plans of the service's slow statements (auto_explain); slows PostgreSQL down. */
  explain: boolean;
  /**
   * Count the statements of the system under test in the end-to-end runs (log_statement on its
   * sessions, read back from the server log). `--no-statements` turns it off.
   */
  statements: boolean;
  /** Print the service's own output. */
  verbose: boolean;
  /** Copy the ceiling's and the baseline's figures from an earlier results JSON instead of measuring them. */
  reuseFrom: string | undefined;
  /** Extra environment for the Tidings process (`--tidings-env NAME=value`, repeatable). */
  tidingsEnv: Record<string, string>;
  /** Results files are named for this day (UTC). */
  date: string;
}

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

const USAGE = `usage: tsx bench/run.ts [--quick] [--engine pg|pglite|both] [--only scenario,...]
                          [--systems ceiling,pipeline,floor,baseline,tidings] [--out dir] [--cpu-prof] [--explain]
                          [--no-statements] [--verbose]
                          [--backlog deliveries] [--size NAME=number ...] [--tidings-env TIDINGS_NAME=value ...]
                          [--reuse-from earlier-results.json]
scenarios: ${SCENARIOS.join(', ')}`;

function list<T extends string>(raw: string, allowed: readonly T[], flag: string): T[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const i of items) {
    if (!allowed.includes(i as T))
      throw new Error(`${flag}: unknown "${i}" (expected ${allowed.join(', ')})\n${USAGE}`);
  }
  return items as T[];
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  let quick = false;
  let engine = 'both';
  let only: ScenarioName[] = [...SCENARIOS];
  let systems: SystemKind[] = [...SYSTEMS];
  let outDir: string | undefined;
  let cpuProf = false;
  let explain = false;
  let statements = true;
  let reuseFrom: string | undefined;
  let verbose = false;
  let backlog: number | undefined;
  const tidingsEnv: Record<string, string> = {};
  const sizeOverrides: Partial<Sizes> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--') continue;
    else if (a === '--quick') quick = true;
    else if (a === '--engine') engine = value();
    else if (a === '--only') only = list(value(), SCENARIOS, '--only');
    else if (a === '--systems') systems = list(value(), SYSTEMS, '--systems');
    else if (a === '--out') outDir = value();
    else if (a === '--cpu-prof') cpuProf = true;
    else if (a === '--explain') explain = true;
    else if (a === '--no-statements') statements = false;
    else if (a === '--reuse-from') reuseFrom = path.resolve(value());
    else if (a === '--verbose') verbose = true;
    else if (a === '--tidings-env') {
      const m = /^(TIDINGS_[A-Z0-9_]+)=(.*)$/.exec(value());
      if (!m) throw new Error(`--tidings-env: expected TIDINGS_NAME=value\n${USAGE}`);
      tidingsEnv[m[1]!] = m[2]!;
    } else if (a === '--size') {
      const m = /^([A-Za-z][A-Za-z0-9]*)=(\d+)$/.exec(value());
      if (!m || !(m[1]! in FULL))
        throw new Error(
          `--size: expected NAME=number with NAME one of ${Object.keys(FULL).join(', ')}\n${USAGE}`,
        );
      sizeOverrides[m[1] as keyof Sizes] = Number(m[2]);
    } else if (a === '--backlog') {
      backlog = Number(value());
      if (!Number.isInteger(backlog) || backlog < 100)
        throw new Error(`--backlog: a whole number ≥ 100\n${USAGE}`);
    } else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else throw new Error(`unknown flag ${a}\n${USAGE}`);
  }
  if (!['pg', 'pglite', 'both'].includes(engine))
    throw new Error(`--engine: expected pg, pglite or both\n${USAGE}`);
  return {
    quick,
    engines: engine === 'both' ? ['pg', 'pglite'] : [engine as EngineChoice],
    only,
    systems,
    sizes: {
      ...(quick ? QUICK : FULL),
      ...(backlog ? { backlogDeliveries: backlog, backlogDeliveriesPglite: backlog } : {}),
      ...sizeOverrides,
    },
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    // A smoke run must not overwrite the recorded results.
    outDir: path.resolve(outDir ?? path.join(REPO_DIR, quick ? 'bench/.work/results' : 'bench/results')),
    cpuProf,
    explain,
    statements,
    reuseFrom,
    verbose,
    tidingsEnv,
    date: new Date().toISOString().slice(0, 10),
  };
}
