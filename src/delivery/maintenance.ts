// The worker's background jobs, beside its loop and never inside it: the lease and turn
// safety nets, the endpoint health sweep (operator notices, auto-disable), retention, the
// endpoint statistics rollup, and on the embedded store the vacuum that its missing
// autovacuum would do. Each runs on its own
// timer; a run that is still going when its timer fires is joined, not doubled.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { AuditSigner } from '../security/auditKey.js';
import type { Db } from '../store/db.js';
import { releaseExpiredLeases, removeOrphans, repairMissedTurns } from '../store/deliveries/turns.js';
import { type RollupResult, rollUpEndpointStats } from '../store/endpointStats.js';
import { checkpointChains, sealAttempts } from './auditChain.js';
import { publishDeliveryFailures } from './failureNotices.js';
import { sweepEndpointHealth } from './health.js';
import { runRetention } from './retention.js';

export interface MaintenanceOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  leaseMarginMs: number;
  pollIntervalMs: number;
  /** The endpoint health sweep (operator notices, auto-disable); off when absent. */
  health?: {
    operatorTenant: string;
    failingNoticeAfterMs: number;
    disableAfterMs: number;
    /** How often the sweep runs; default from the poll interval, between 1 s and 30 s. */
    intervalMs?: number;
  };
  /** Consecutive failures at which a circuit is open (the stats count the time it is). */
  circuitOpenAfter: number;
  /**
   * Retention in days (0: keep everything), of the kept request bodies (0: as long as their
   * attempts) and of the hourly endpoint statistics (0: forever); off when absent.
   */
  retention?: { days: number; bodyDays?: number; statsDays?: number; intervalMs?: number };
  /** The attempt chain's sealer and signed checkpoints (delivery/auditChain.ts); off when absent. */
  audit?: {
    signer: AuditSigner;
    operatorTenant: string;
    checkpointIntervalMs: number;
    /** How often the sealer runs (default 5 s). */
    sealIntervalMs?: number;
    /** How long the sealer waits for a gap in the attempt ids (default 60 s). */
    settleMs?: number;
  };
  /** Something became due (operator events published, turns repaired): wake the loop. */
  onWork: () => void;
  /** Still running (retention stops between batches when not). */
  running: () => boolean;
}

/**
 * PGlite runs without autovacuum (and keeps no table statistics to decide by): the queue's
 * fast-churning tables are vacuumed here every 30 s, analyzed every 5 minutes. Measured on
 * PGlite: 150–300 ms for a 200,000-row queue, 2 ms for the small tables.
 */
const EMBEDDED_VACUUM_MS = 30_000;
const ANALYZE_EVERY = 10;
const HOT_TABLES = 'delivery_queue, endpoint_turns, endpoint_state, ordering_keys';

/**
 * The stats rollup runs every minute and counts the attempts recorded more than a minute ago
 * (an ack commits within milliseconds of its created_at; the lag covers that and clock skew
 * between workers), an hour of them per transaction so that a backlog is caught up in steps.
 */
export const STATS_INTERVAL_MS = 60_000;
export const STATS_LAG_MS = 60_000;
const STATS_MAX_WINDOW_MS = 3_600_000;
const STATS_CATCH_UP_WINDOWS = 24;

export class Maintenance {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly runs = new Map<string, Promise<unknown>>();
  private vacuums = 0;
  /** A give-up was recorded while the notices were being published: publish again after. */
  private failuresAgain = false;
  readonly stats = { repairedTurns: 0, expiredLeases: 0 };

  constructor(private readonly o: MaintenanceOptions) {}

  async start(): Promise<void> {
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void fn().catch(() => {}), ms);
      t.unref();
      this.timers.push(t);
    };
    every(Math.max(1000, Math.min(5000, this.o.leaseMarginMs / 2)), () => this.reap());
    await this.reap().catch(() => {});
    if (this.o.health) {
      const h = this.o.health;
      every(h.intervalMs ?? Math.max(1000, Math.min(30_000, this.o.pollIntervalMs * 10)), () =>
        this.sweepHealth(),
      );
    }
    const r = this.o.retention;
    if (r && (r.days > 0 || (r.bodyDays ?? 0) > 0 || (r.statsDays ?? 0) > 0)) {
      // Every worker runs it; the batches skip nothing and collide on nothing, so a second
      // runner only finds less to do. Hourly by default, first a minute after start.
      const interval = r.intervalMs ?? 3_600_000;
      const first = setTimeout(() => void this.runRetention().catch(() => {}), Math.min(interval, 60_000));
      first.unref();
      this.timers.push(first);
      every(interval, () => this.runRetention());
    }
    every(STATS_INTERVAL_MS, () => this.rollUpStats());
    const a = this.o.audit;
    if (a) {
      every(a.sealIntervalMs ?? 5000, () => this.seal());
      // Checked often, written once per interval across every worker (see checkpointChains).
      every(Math.max(1000, Math.min(60_000, a.checkpointIntervalMs / 4)), () => this.checkpoint());
    }
    if (this.o.db.engine === 'pglite') every(EMBEDDED_VACUUM_MS, () => this.vacuum());
  }

  /** Chains the attempts recorded since the last run (tests call it; a timer calls it too). */
  seal(): Promise<unknown> {
    const a = this.o.audit;
    if (!a) return Promise.resolve(0);
    return this.shared('seal', 'attempt chain sealer', () =>
      sealAttempts({
        db: this.o.db,
        clock: this.o.clock,
        ...(a.settleMs !== undefined ? { settleMs: a.settleMs } : {}),
        shouldStop: () => !this.o.running(),
      }),
    );
  }

  /** Seals, then writes the checkpoints that are due (`force`: whether due or not). */
  checkpoint(force = false): Promise<unknown> {
    const a = this.o.audit;
    if (!a) return Promise.resolve(0);
    return this.shared('checkpoint', 'attempt chain checkpoint', async () => {
      await this.seal();
      const n = await checkpointChains(
        {
          db: this.o.db,
          clock: this.o.clock,
          signer: a.signer,
          operatorTenant: a.operatorTenant,
          intervalMs: a.checkpointIntervalMs,
        },
        force,
      );
      // Checkpoint events were published: their deliveries are due.
      if (n > 0) this.o.onWork();
      return n;
    });
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await Promise.allSettled([...this.runs.values()]);
  }

  /** Leases of dead workers, turns that went missing, rows of deleted endpoints. */
  reap(): Promise<unknown> {
    return this.shared('reap', 'lease and turn repair', async () => {
      const now = this.o.clock.now();
      const expired = await releaseExpiredLeases(this.o.db, now);
      if (expired > 0) {
        this.stats.expiredLeases += expired;
        this.o.log.warn(
          { deliveries: expired },
          'leases ran out (a worker stopped or hung); taking them over',
        );
        this.o.onWork();
      }
      const repaired = await repairMissedTurns(this.o.db, now);
      this.stats.repairedTurns += repaired;
      if (repaired > 0) {
        this.o.log.warn({ endpoints: repaired }, 'endpoints with due work had no turn; scheduled them');
        this.o.onWork();
      }
      await removeOrphans(this.o.db);
    });
  }

  /** One health sweep now (tests call it; the timer calls it too). */
  sweepHealth(): Promise<unknown> {
    const h = this.o.health;
    if (!h) return Promise.resolve();
    return this.shared('health', 'endpoint health sweep', async () => {
      const r = await sweepEndpointHealth({ db: this.o.db, clock: this.o.clock, log: this.o.log, ...h });
      // Operator events were published: their deliveries are due.
      if (r.failing + r.disabled + r.recovered + (r.faulted ?? 0) > 0) this.o.onWork();
      // Notices of give-ups that a worker recorded and did not get to publish (it stopped).
      await this.notifyFailures();
      return r;
    });
  }

  /**
   * Publishes tidings.delivery.failed for the give-ups recorded so far: the worker calls it
   * after an ack that gave a delivery up (not after any other), the health sweep now and then.
   */
  notifyFailures(): Promise<unknown> {
    const h = this.o.health;
    if (!h) return Promise.resolve();
    if (this.runs.has('failures')) this.failuresAgain = true;
    return this.shared('failures', 'delivery failure notices', async () => {
      let total = 0;
      do {
        this.failuresAgain = false;
        total += await publishDeliveryFailures({
          db: this.o.db,
          clock: this.o.clock,
          log: this.o.log,
          operatorTenant: h.operatorTenant,
        });
      } while (this.failuresAgain);
      if (total > 0) this.o.onWork();
      return total;
    });
  }

  /** One retention pass now. */
  runRetention(): Promise<unknown> {
    const r = this.o.retention;
    if (!r) return Promise.resolve();
    return this.shared('retention', 'retention pass', () =>
      runRetention({
        db: this.o.db,
        clock: this.o.clock,
        log: this.o.log,
        retentionDays: r.days,
        bodyRetentionDays: r.bodyDays ?? 0,
        statsRetentionDays: r.statsDays ?? 0,
        shouldStop: () => !this.o.running(),
      }),
    );
  }

  /**
   * One stats rollup now: attempts recorded before `cutoff` (default: a minute ago). Across
   * workers the watermark row's lock lets one run at a time; the others skip.
   */
  rollUpStats(cutoff?: Date): Promise<unknown> {
    return this.shared('stats', 'endpoint stats rollup', async () => {
      // A backlog (the first run on a store with history) is caught up an hour per
      // transaction, at most a day of it per run.
      let r: RollupResult | undefined;
      for (let i = 0; i < STATS_CATCH_UP_WINDOWS && this.o.running(); i++) {
        const now = this.o.clock.now();
        const upTo = cutoff ?? new Date(now.getTime() - STATS_LAG_MS);
        r = await this.o.db.tx((q) =>
          rollUpEndpointStats(q, {
            cutoff: upTo,
            now,
            circuitOpenAfter: this.o.circuitOpenAfter,
            maxSampleGapMs: 5 * STATS_INTERVAL_MS,
            maxWindowMs: STATS_MAX_WINDOW_MS,
          }),
        );
        if (!r.ran || !r.through || r.through >= upTo) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      return r;
    });
  }

  private vacuum(): Promise<unknown> {
    return this.shared('vacuum', 'vacuum of the queue tables', () => {
      this.vacuums += 1;
      const analyze = this.vacuums % ANALYZE_EVERY === 1 ? '(ANALYZE) ' : '';
      return this.o.db.exec(`VACUUM ${analyze}${HOT_TABLES}`);
    });
  }

  /** Runs a job unless it is running already (then joins that run); logs a failure. */
  private shared(key: string, what: string, job: () => Promise<unknown>): Promise<unknown> {
    let run = this.runs.get(key);
    if (!run) {
      run = job()
        .catch((err) => {
          this.o.log.warn({ err: String(err) }, `${what} failed; will retry`);
          throw err;
        })
        .finally(() => this.runs.delete(key));
      this.runs.set(key, run);
    }
    return run;
  }
}
