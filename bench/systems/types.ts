// A system that takes publishes and delivers them: the pg-boss baseline or Tidings. (The
// ceiling has no store and is driven directly by each scenario.)
import type { SystemKey } from '../results.js';

export interface Publisher {
  origin: string;
  /** Path of a single publish taking `{type, payload}`. */
  path: string;
  /** Path of a batch publish taking `{events: [{type, payload}, …]}`, when the system has one. */
  batchPath?: string;
  headers: Record<string, string>;
}

export interface StartOptions {
  /** Deliver while taking publishes; false seeds a backlog (publishes only). */
  deliver: boolean;
  /**
   * Requests in flight per endpoint, where the system has such a cap (Tidings: max_in_flight,
   * default 10). Single-endpoint throughput scenarios raise it to the shared concurrency so the
   * one endpoint may use what the ceiling uses; isolation keeps the default that protects.
   */
  maxInFlight?: number;
  /** Write a V8 CPU profile of the process into this folder when it stops. */
  cpuProfDir?: string;
}

export interface QueueSystem {
  readonly key: SystemKey;
  /** Fresh store, one endpoint per receiver path, then ready to take publishes. */
  start(paths: string[], opts: StartOptions): Promise<Publisher>;
  /** Starts delivering what was published while not delivering (the backlog). */
  deliver(cpuProfDir?: string): Promise<void>;
  /** The process doing the work now (for CPU and RSS). */
  pid(): number;
  /** Settings worth writing down beside the figures. */
  settings(): Record<string, string>;
  /** Stops its processes and drops its store. */
  stop(): Promise<void>;
}
