// A system that takes publishes and delivers them: a reference (the pipeline ceiling, the durable
// floor, the pg-boss baseline) or Tidings. (The raw sender ceiling has no ingest and is driven
// directly by each scenario.)
import type { ScenarioName } from '../options.js';
import type { SystemKey } from '../results.js';
import type { StatementScope } from '../statements.js';

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
  /** Have PostgreSQL log every statement of this system's sessions (see bench/statements.ts). */
  logStatements?: boolean;
}

export interface QueueSystem {
  readonly key: SystemKey;
  /**
   * Scenarios this system has no figure in, and why (the pipeline ceiling keeps no backlog,
   * the floor has no per-endpoint fairness, …). The scenario records the reason in the table.
   */
  readonly lacks?: Partial<Record<ScenarioName, string>>;
  /** Fresh store, one endpoint per receiver path, then ready to take publishes. */
  start(paths: string[], opts: StartOptions): Promise<Publisher>;
  /** Starts delivering what was published while not delivering (the backlog). */
  deliver(cpuProfDir?: string): Promise<void>;
  /** The process doing the work now (for CPU and RSS). */
  pid(): number;
  /**
   * Where its statements show in the server log (after a start with `logStatements`), or
   * undefined when it has none (no store) or they cannot be counted (PGlite: no server).
   */
  statementScope(): StatementScope | undefined;
  /** Settings worth writing down beside the figures. */
  settings(): Record<string, string>;
  /** Stops its processes and drops its store. */
  stop(): Promise<void>;
}
