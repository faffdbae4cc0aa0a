// The pipeline ceiling as the scenarios see it: a fresh bench/pipeline.ts process per run.
import type { Ctx } from '../context.js';
import { HelperSystem } from './helperSystem.js';

export class PipelineCeiling extends HelperSystem {
  readonly key = 'pipeline' as const;
  override readonly lacks = {
    isolation: 'n/a (one FIFO, no per-endpoint queues)',
    backlog: 'n/a (no store)',
    reminders: 'n/a (no scheduler)',
    scaleout: 'n/a (one process)',
  };

  constructor(ctx: Ctx) {
    super(ctx, 'pipeline.ts');
  }

  settings(): Record<string, string> {
    return {
      ingest: 'node:http (bench/ingest.ts), single publishes and a batch path, answers 202 once queued',
      queue: 'an in-memory FIFO, one entry per delivery, nothing durable',
      sender: `bench/post.ts: one undici pool of ${this.ctx.sizes.concurrency} connections, signed per request`,
      timeout: `${this.ctx.sizes.timeoutMs} ms per POST`,
    };
  }

  protected startArgs(): Record<string, unknown> {
    return { concurrency: this.ctx.sizes.concurrency, timeoutMs: this.ctx.sizes.timeoutMs };
  }
}
