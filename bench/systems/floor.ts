// The durable floor as the scenarios see it: a fresh bench/floor.ts process per run, on a schema
// of its own in the DATABASE_URL database (created at start, dropped at stop).
import type { Ctx } from '../context.js';
import { HelperSystem } from './helperSystem.js';
import type { StartOptions } from './types.js';

export interface FloorSettings {
  /** Send slots (requests in flight toward the receiver). */
  concurrency: number;
  timeoutMs: number;
  /** Claimed rows that may wait for a free send slot. */
  prefetch: number;
  /** Most rows one claim takes. */
  claimBatch: number;
  /** INSERTs in flight at once (each takes every request waiting when it starts). */
  writers: number;
  /** Most rows one INSERT takes (a single request bigger than this goes alone). */
  insertRows: number;
  /** With an INSERT in flight, another starts only once this many rows wait (or one ends). */
  eagerRows: number;
  /** Ack UPDATEs in flight at once. */
  ackers: number;
  /** Most results one ack takes. */
  ackRows: number;
  /**
   * Results wait up to this long for company before an ack (unless `ackRows` are waiting): an
   * ack holds up no send slot, so fewer, fuller acks cost nothing in throughput.
   */
  ackDelayMs: number;
  /** An empty claim waits this long unless an INSERT wakes it first. */
  idlePollMs: number;
}

export const DEFAULT_FLOOR_SETTINGS: FloorSettings = {
  concurrency: 64,
  timeoutMs: 15_000,
  prefetch: 64,
  claimBatch: 128,
  writers: 4,
  insertRows: 5000,
  eagerRows: 16,
  ackers: 2,
  ackRows: 1000,
  ackDelayMs: 5,
  idlePollMs: 200,
};

export class DurableFloor extends HelperSystem {
  readonly key = 'floor' as const;
  override readonly lacks = {
    isolation: 'n/a (no per-endpoint fairness)',
    reminders: 'n/a (no scheduler)',
    scaleout: 'n/a (one process)',
  };
  protected override readonly applicationName = 'bench-floor';
  private readonly tuned: FloorSettings;

  constructor(ctx: Ctx) {
    super(ctx, 'floor.ts');
    this.tuned = {
      ...DEFAULT_FLOOR_SETTINGS,
      concurrency: ctx.sizes.concurrency,
      timeoutMs: ctx.sizes.timeoutMs,
    };
  }

  settings(): Record<string, string> {
    const s = this.tuned;
    return {
      store: 'one jobs table (one row per delivery, payload text inline) in a schema of its own per run',
      publish: `one INSERT … SELECT unnest(…) per group of waiting requests (group commit), up to ${s.writers} in flight (a second once ${s.eagerRows} rows wait), up to ${s.insertRows} rows each`,
      claim: `one UPDATE … WHERE id = ANY(ARRAY(SELECT … FOR UPDATE SKIP LOCKED LIMIT n)) RETURNING per batch of ${Math.ceil(s.concurrency / 2)} to ${s.claimBatch}, up to ${s.prefetch} claimed ahead of the ${s.concurrency} send slots, one in flight; an INSERT wakes it`,
      ack: `one UPDATE per group of results (a result waits up to ${s.ackDelayMs} ms for company), up to ${s.ackers} in flight, up to ${s.ackRows} rows each`,
      statements: 'prepared (named); autocommit; synchronous_commit as the server has it',
      sender: `bench/post.ts: one undici pool of ${s.concurrency} connections, signed per request`,
      'left out': 'retries (a failed POST leaves its row failed), fairness, leases, fan-out by subscription',
    };
  }

  protected startArgs(opts: StartOptions): Record<string, unknown> {
    return this.storeArgs('floor_bench', this.tuned, opts);
  }
}
