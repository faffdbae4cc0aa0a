// The pg-boss baseline as the scenarios see it: a fresh bench/baseline.ts process per run, its
// schema dropped and recreated, its ingest on 127.0.0.1.
import type { BaselineSettings } from '../baseline.js';
import { DEFAULT_BASELINE_SETTINGS } from '../baseline.js';
import type { Ctx } from '../context.js';
import { Helper } from '../ipc.js';
import type { Publisher, QueueSystem, StartOptions } from './types.js';

export const BASELINE_SCHEMA = 'pgboss_bench';

export class PgBossBaseline implements QueueSystem {
  readonly key = 'baseline' as const;
  private helper: Helper | undefined;
  private readonly tuned: BaselineSettings;

  constructor(private readonly ctx: Ctx) {
    this.tuned = {
      ...DEFAULT_BASELINE_SETTINGS,
      concurrency: ctx.sizes.concurrency,
      timeoutMs: ctx.sizes.timeoutMs,
    };
  }

  settings(): Record<string, string> {
    const s = this.tuned;
    return {
      'pg-boss': '10 (node_modules/pg-boss), schema pgboss_bench dropped before each run',
      workers: `${s.workers} × work() each fetching batchSize ${s.batchSize}`,
      pollingIntervalSeconds: String(s.pollingIntervalSeconds),
      'pg pool max': String(s.poolMax),
      'in-flight cap': `${s.concurrency} undici connections to the receiver`,
      timeout: `${s.timeoutMs} ms per POST`,
      retries: 'retryLimit 7, retryDelay 5 s, retryBackoff, expireInSeconds 60',
      ingest: 'node:http; one boss.send per single delivery, one boss.insert per fan-out or batch',
    };
  }

  pid(): number {
    return this.helper?.pid ?? 0;
  }

  async start(paths: string[], opts: StartOptions): Promise<Publisher> {
    this.helper = await Helper.start('baseline.ts');
    const { origin } = await this.helper.call<{ origin: string }>('start', {
      databaseUrl: this.ctx.opts.databaseUrl,
      schema: BASELINE_SCHEMA,
      receiverOrigin: this.ctx.receiverOrigin,
      paths,
      settings: this.tuned,
    });
    if (opts.deliver) await this.helper.call('work');
    return {
      origin,
      path: '/events',
      batchPath: '/events/batch',
      headers: { 'content-type': 'application/json' },
    };
  }

  async deliver(): Promise<void> {
    await this.helper!.call('work');
  }

  async stop(): Promise<void> {
    if (!this.helper) return;
    await this.helper.call('stop').catch(() => {});
    await this.helper.stop();
    this.helper = undefined;
  }
}
