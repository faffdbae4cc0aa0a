// The scheduler role: fires reminders when they are due. Each batch is one transaction:
// claim anchors with due slots (FOR UPDATE SKIP LOCKED, so any number of schedulers share
// the work and never wait for each other), re-plan them, publish the due slots as events
// and mark the slots fired. A crash before the commit leaves nothing behind; after it,
// everything is recorded: exactly once, even with SIGKILL mid-batch.
//
// Anchors whose rule has a refresh_url go round twice: the batch leases their due slots;
// the producer is asked outside any transaction; a second transaction fires (or resolves)
// them. A scheduler that dies between the two leaves a lease that expires, and another
// scheduler asks again.
//
// Progress is guaranteed by polling; the batch loop yields to the event loop between
// batches (PGlite otherwise starves timers and sockets).
import { hostname } from 'node:os';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { type Config, leaseUntil } from '../config.js';
import type { Logger } from '../log.js';
import type { LoopHealth } from '../loopHealth.js';
import { EventTypeCache } from '../publishing/eventTypeCache.js';
import type { Db } from '../store/db.js';
import { lockAnchors } from '../store/reminders/anchors.js';
import { backOffSlots, claimDueAnchors } from '../store/reminders/slots.js';
import { WAKE_CHANNEL, Wakeup } from '../wakeup.js';
import { firePayload } from './payload.js';
import { anchorRef, type BatchResult, type FiredSlot, processAnchors, type RefreshJob } from './planner.js';
import { askProducer, createRefreshAgent, type RefreshAnswer, refreshBackoffMs } from './refresh.js';

export interface SchedulerOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Settings for refresh_url requests (timeout, proxy, allowed private ranges, payload limit). */
  config: Pick<
    Config,
    | 'pollIntervalMs'
    | 'requestTimeoutMs'
    | 'leaseMarginMs'
    | 'maxPayloadBytes'
    | 'allowPrivateTargets'
    | 'httpProxy'
  >;
  /** Dispatcher for refresh_url; one is created from config when first needed. */
  dispatcher?: Dispatcher;
  /** Most anchors per batch. */
  batchSize?: number;
  /** refresh_url requests in flight at once. */
  refreshConcurrency?: number;
  schedulerId?: string;
  /** Told of every batch of the loop, for /readyz. */
  loopHealth?: LoopHealth;
  /** Compiled payload schemas, to check refresh answers with (the API's cache; one of its own when absent). */
  eventTypes?: EventTypeCache;
  /** Metrics of fired reminders (src/observability/); none when absent. */
  observer?: ReminderObserver;
}

export interface ReminderObserver {
  /** A batch fired these slots (published their events, which created `deliveries`) at `firedAt`. */
  fired(slots: readonly FiredSlot[], deliveries: number, firedAt: Date): void;
}

export const DEFAULT_REMINDER_BATCH = 500;

export class Scheduler {
  readonly id: string;
  readonly stats = { batches: 0, fired: 0, late: 0, skipped: 0, cancelled: 0, refreshed: 0, errors: 0 };
  private running = false;
  private loopDone: Promise<void> | undefined;
  private readonly wakeup = new Wakeup();
  private ownedDispatcher: Dispatcher | undefined;
  private readonly batchSize: number;
  private turns: Promise<unknown> = Promise.resolve();
  private readonly eventTypes: EventTypeCache;

  constructor(private readonly o: SchedulerOptions) {
    this.id = o.schedulerId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.batchSize = o.batchSize ?? DEFAULT_REMINDER_BATCH;
    this.eventTypes = o.eventTypes ?? new EventTypeCache(o.db, o.clock);
  }

  async start(): Promise<void> {
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Finishes the batch in hand (and its refreshes), then stops. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loopDone;
    await this.ownedDispatcher?.close();
  }

  /** Look for due slots now instead of at the next poll. */
  wake(): void {
    this.wakeup.wake();
  }

  /**
   * Fires everything due at the clock's current time, batch after batch, and resolves with
   * how many slots this scheduler fired from the call until nothing was left due (the loop's
   * batches included: they take turns with these). For tests and the benchmark.
   */
  async drain(): Promise<number> {
    const before = this.stats.fired;
    for (;;) {
      const r = await this.turn();
      if (r.anchors === 0) return this.stats.fired - before;
      await yieldLoop();
    }
  }

  /** One batch at a time per scheduler: drain() and the loop never run batches side by side. */
  private turn(): Promise<{ anchors: number; fired: number }> {
    const next = this.turns.then(() => this.tick());
    this.turns = next.catch(() => undefined);
    return next;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let anchors = 0;
      try {
        this.wakeup.pending = false;
        anchors = (await this.turn()).anchors;
        failures = 0;
        this.o.loopHealth?.ok('scheduler');
      } catch (err) {
        this.o.loopHealth?.failed('scheduler');
        // The store is unreachable, or PostgreSQL chose this batch as a deadlock victim: the
        // transaction rolled back whole, so trying again later is always safe.
        failures += 1;
        this.stats.errors += 1;
        this.o.log.warn({ err: String(err), failures }, 'reminder batch failed; retrying');
        await this.sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      // A full batch means more is due: go again after letting the event loop breathe.
      if (anchors >= this.batchSize) await yieldLoop();
      else await this.sleep(this.o.config.pollIntervalMs);
    }
  }

  /** One batch: claim, fire, then ask refresh_urls and fire those. */
  private async tick(): Promise<{ anchors: number; fired: number }> {
    const now = this.o.clock.now();
    const leaseEnd = leaseUntil(now, this.o.config);
    const result = await this.o.db.tx(async (q) => {
      const keys = await claimDueAnchors(q, { now, limit: this.batchSize, candidates: this.batchSize * 4 });
      if (keys.length === 0) return undefined;
      return processAnchors(q, keys, {
        now,
        fire: true,
        schedulerId: this.id,
        leaseUntil: leaseEnd,
        log: this.o.log,
      });
    });
    if (!result) return { anchors: 0, fired: 0 };
    this.record(result, now);
    await this.wakeWorkers(result);
    let fired = result.fired.length;
    if (result.refresh.length > 0) fired += await this.refresh(result.refresh);
    return { anchors: result.anchors, fired };
  }

  /** Asks each producer, then fires (or resolves) in one transaction; failures back off. */
  private async refresh(jobs: RefreshJob[]): Promise<number> {
    const dispatcher = this.dispatcher();
    const answers = new Map<string, RefreshAnswer>();
    const failed: { job: RefreshJob; error: string }[] = [];
    const limit = this.o.refreshConcurrency ?? 16;
    for (let i = 0; i < jobs.length; i += limit) {
      await Promise.all(
        jobs.slice(i, i + limit).map(async (job) => {
          const asked = await askProducer(dispatcher, job.question, {
            timeoutMs: this.o.config.requestTimeoutMs,
            maxPayloadBytes: this.o.config.maxPayloadBytes,
          });
          const answer = await this.checkAnswer(job, asked);
          if (answer.kind === 'failed') failed.push({ job, error: answer.error });
          else answers.set(anchorRef(job.key), answer);
        }),
      );
    }
    this.stats.refreshed += jobs.length;
    const now = this.o.clock.now();
    if (failed.length > 0) {
      await this.o.db.tx(async (q) => {
        await lockAnchors(
          q,
          failed.map((f) => f.job.key),
        );
        for (const { job, error } of failed) {
          await backOffSlots(
            q,
            job.slots,
            new Date(now.getTime() + refreshBackoffMs(job.attempts)),
            error,
            now,
          );
        }
      });
      for (const { job, error } of failed) {
        this.o.log.warn(
          { tenant: job.key.tenant_id, anchor: job.key.anchor_id, err: error },
          'refresh_url failed',
        );
      }
    }
    if (answers.size === 0) return 0;
    const keys = jobs.filter((j) => answers.has(anchorRef(j.key))).map((j) => j.key);
    const result = await this.o.db.tx(async (q) => {
      // Waits for the anchors (another scheduler may hold one for a moment); the lease kept
      // everyone else from firing these slots meanwhile.
      const locked = await lockAnchors(q, keys);
      return processAnchors(q, locked, {
        now,
        fire: true,
        schedulerId: this.id,
        fresh: answers,
        log: this.o.log,
      });
    });
    this.record(result, now);
    await this.wakeWorkers(result);
    return result.fired.length;
  }

  /**
   * A payload from refresh_url is held to the type's JSON Schema like a publish (with the
   * fields Tidings adds when it fires): one that does not fit is a failed refresh (the slot
   * backs off, the error shows on it), never a signed event that breaks the type's contract.
   */
  private async checkAnswer(job: RefreshJob, answer: RefreshAnswer): Promise<RefreshAnswer> {
    if (answer.kind !== 'payload') return answer;
    const type = job.question.eventType;
    const validate = (await this.eventTypes.get([type])).get(type)?.validate;
    if (!validate) return answer;
    const sample = JSON.parse(
      firePayload({
        eventType: type,
        payloadText: answer.payloadText,
        anchorAt: job.question.at,
        timeZone: 'UTC',
        firedAt: this.o.clock.now(),
        late: false,
      }),
    ) as unknown;
    const problems = validate(sample);
    if (problems.length === 0) return answer;
    return {
      kind: 'failed',
      error: `refresh_url: the answer's payload does not match the schema of "${type}": ${problems
        .slice(0, 5)
        .map((p) => `${p.path} ${p.message}`)
        .join('; ')}`,
    };
  }

  private dispatcher(): Dispatcher {
    if (this.o.dispatcher) return this.o.dispatcher;
    this.ownedDispatcher ??= createRefreshAgent(this.o.config);
    return this.ownedDispatcher;
  }

  private record(r: BatchResult, now: Date): void {
    if (r.fired.length > 0) this.o.observer?.fired(r.fired, r.deliveries, now);
    this.stats.batches += 1;
    this.stats.fired += r.fired.length;
    this.stats.late += r.fired.filter((f) => f.late).length;
    this.stats.skipped += r.skipped;
    this.stats.cancelled += r.cancelled;
    this.stats.errors += r.errors;
  }

  private async wakeWorkers(r: BatchResult): Promise<void> {
    if (r.deliveries === 0) return;
    try {
      await this.o.db.notify(WAKE_CHANNEL, '');
    } catch {
      // Only a latency hint: workers poll anyway.
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return this.wakeup.sleep(ms);
  }
}

function yieldLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
