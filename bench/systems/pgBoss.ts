// The pg-boss baseline as the scenarios see it: a fresh bench/baseline.ts process per run, on a
// schema of its own in the DATABASE_URL database (created at start, dropped at stop), its
// ingest on 127.0.0.1.
import type { Ctx } from '../context.js';
import { HelperSystem } from './helperSystem.js';
import type { StartOptions } from './types.js';

export interface BaselineSettings {
  workers: number;
  batchSize: number;
  pollingIntervalSeconds: number;
  /** Connections in pg-boss's pg pool. */
  poolMax: number;
  /** Connections to the receiver (in-flight requests). */
  concurrency: number;
  timeoutMs: number;
}

export const DEFAULT_BASELINE_SETTINGS: BaselineSettings = {
  workers: 8,
  batchSize: 250,
  pollingIntervalSeconds: 0.5,
  poolMax: 16,
  concurrency: 64,
  timeoutMs: 15_000,
};

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : Number(v);
}

export class PgBossBaseline extends HelperSystem {
  readonly key = 'baseline' as const;
  override readonly lacks = {
    reminders: 'n/a (pg-boss has no per-subject reminders)',
    scaleout: 'n/a (one process)',
  };
  protected override readonly applicationName = 'bench-pgboss';
  private readonly tuned: BaselineSettings;

  constructor(ctx: Ctx) {
    super(ctx, 'baseline.ts');
    const d = DEFAULT_BASELINE_SETTINGS;
    this.tuned = {
      workers: envNumber('BENCH_PGBOSS_WORKERS') ?? d.workers,
      batchSize: envNumber('BENCH_PGBOSS_BATCH') ?? d.batchSize,
      pollingIntervalSeconds: envNumber('BENCH_PGBOSS_POLL_S') ?? d.pollingIntervalSeconds,
      poolMax: envNumber('BENCH_PGBOSS_POOL') ?? d.poolMax,
      concurrency: ctx.sizes.concurrency,
      timeoutMs: ctx.sizes.timeoutMs,
    };
  }

  settings(): Record<string, string> {
    const s = this.tuned;
    return {
      'pg-boss': '10 (node_modules/pg-boss), a schema of its own per run (pgboss_bench_…), dropped after it',
      workers: `${s.workers} × work() each fetching batchSize ${s.batchSize}`,
      pollingIntervalSeconds: String(s.pollingIntervalSeconds),
      'pg pool max': String(s.poolMax),
      'in-flight cap': `${s.concurrency} undici connections to the receiver`,
      timeout: `${s.timeoutMs} ms per POST`,
      retries: 'retryLimit 7, retryDelay 5 s, retryBackoff, expireInSeconds 60',
      ingest: 'node:http; one boss.send per single delivery, one boss.insert per fan-out or batch',
    };
  }

  protected startArgs(opts: StartOptions): Record<string, unknown> {
    return this.storeArgs('pgboss_bench', this.tuned, opts);
  }
}
