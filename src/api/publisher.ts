// Publishing through group commit: concurrent publishes are written together, one statement
// per batch (store/publish.ts), several batches in flight on PostgreSQL. Each caller is
// answered only after the statement that holds its event has committed. A batch that fails
// is written again one event at a time, so that one bad event cannot fail its neighbours.
import { GroupCommit } from '../delivery/groupCommit.js';
import { type DeliveryObserver, NOOP_OBSERVER } from '../delivery/observer.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { PublishInput, PublishOutcome } from '../store/events.js';
import { isWholeBatchRefusal, publishEvents } from '../store/publish.js';
import { WAKE_CHANNEL } from '../wakeup.js';

type Written = { ok: true; outcome: PublishOutcome } | { ok: false; error: unknown };

/** At most one NOTIFY per this many ms (see wakeWorkers). */
const NOTIFY_EVERY_MS = 10;

/** A batch was rolled back because of this item. */
export class BatchRefused extends Error {
  constructor(
    readonly index: number,
    readonly outcome: PublishOutcome,
  ) {
    super(`batch item ${index} was refused (${outcome.kind})`);
  }
}

export interface PublisherOptions {
  /** Most events in one statement. */
  maxBatch?: number;
  /** Statements in flight at once (default: 4 on PostgreSQL, 1 on the single-connection PGlite). */
  writers?: number;
  /** Called after a commit that created deliveries, before the caller is answered: a local worker's wake-up. */
  onDeliveries?: () => void;
  /** Metrics and traces of publishes (src/observability/); none by default. */
  observer?: DeliveryObserver;
}

export class Publisher {
  private readonly commits: GroupCommit<PublishInput, Written>;
  private notifyTimer: NodeJS.Timeout | undefined;
  private notifySending = false;
  private notifyAgain = false;
  private lastNotify = 0;
  readonly stats = { batches: 0, events: 0 };
  private onDeliveries: (() => void) | undefined;
  readonly observer: DeliveryObserver;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    o: PublisherOptions = {},
  ) {
    this.onDeliveries = o.onDeliveries;
    this.observer = o.observer ?? NOOP_OBSERVER;
    this.commits = new GroupCommit({
      write: (inputs) => this.write(inputs),
      maxBatch: o.maxBatch ?? 500,
      maxInFlight: o.writers ?? (db.engine === 'pg' ? 4 : 1),
      eagerAt: 16,
    });
  }

  /** Wakes a worker in this process after each commit that created deliveries. */
  setLocalWake(fn: (() => void) | undefined): void {
    this.onDeliveries = fn;
  }

  publish(input: PublishInput): Promise<PublishOutcome> {
    return this.observer.publish(input, async () => {
      const w = await this.commits.submit(input);
      if (!w.ok) throw w.error;
      return w.outcome;
    });
  }

  /**
   * Publishes many events in one statement, all or nothing (the batch route): when one of
   * them is a conflicting repeat or its tenant is gone, nothing is stored and BatchRefused
   * names it.
   */
  async publishAll(inputs: PublishInput[]): Promise<PublishOutcome[]> {
    const traced = this.traced(inputs);
    const checked = (written: Awaited<ReturnType<typeof publishEvents>>) => {
      const bad = written.outcomes.findIndex((o) => o.kind === 'conflict' || o.kind === 'no_tenant');
      if (bad >= 0) throw new BatchRefused(bad, written.outcomes[bad]!);
      return written;
    };
    const { outcomes, deliveries } = await this.observer.publishBatch(traced, async () => {
      // All new (the common case): one statement in autocommit, refused whole by the store if
      // any input is not inserted. Then a transaction sorts repeats from conflicts: repeats
      // are answered, a conflict or a missing tenant rolls everything back.
      try {
        return checked(await publishEvents(this.db, traced, { whole: true }));
      } catch (err) {
        if (!isWholeBatchRefusal(err)) throw err;
      }
      return this.db.tx(async (q) => checked(await publishEvents(q, traced)));
    });
    this.stats.batches += 1;
    this.stats.events += inputs.length;
    if (deliveries > 0) this.wakeWorkers();
    return outcomes;
  }

  /** The inputs with their publish span's trace context, stored with each event (tracing only). */
  private traced(inputs: PublishInput[]): PublishInput[] {
    return inputs.map((i) => {
      const traceContext = this.observer.traceContext(i);
      return traceContext ? { ...i, traceContext } : i;
    });
  }

  private async write(inputs: PublishInput[]): Promise<Written[]> {
    try {
      const { outcomes, deliveries } = await this.observer.publishBatch(inputs, () =>
        publishEvents(this.db, this.traced(inputs)),
      );
      this.stats.batches += 1;
      this.stats.events += inputs.length;
      if (deliveries > 0) this.wakeWorkers();
      return outcomes.map((outcome) => ({ ok: true, outcome }));
    } catch (err) {
      if (inputs.length === 1) return [{ ok: false, error: err }];
      this.log.debug({ err: String(err), events: inputs.length }, 'batch publish failed; writing one by one');
      const out: Written[] = [];
      for (const input of inputs) out.push(...(await this.write([input])));
      return out;
    }
  }

  /**
   * Tells workers that work is due: the one in this process directly, those of other
   * processes through NOTIFY (PostgreSQL). The NOTIFY is sent off the answer path, at most one
   * every NOTIFY_EVERY_MS: under load workers are claiming anyway, and a NOTIFY per batch was a
   * quarter of the statements per delivered event. It only shortens waits: workers poll.
   */
  wakeWorkers(): void {
    this.onDeliveries?.();
    if (this.db.engine !== 'pg') {
      // The embedded store's notifications stay in this process: no round trip to save.
      void this.db.notify(WAKE_CHANNEL, '').catch(() => {});
      return;
    }
    if (this.notifyTimer) {
      // One is pending or being sent; if it is being sent it may precede this commit.
      this.notifyAgain = this.notifySending;
      return;
    }
    const wait = Math.max(0, this.lastNotify + NOTIFY_EVERY_MS - Date.now());
    this.notifyTimer = setTimeout(() => {
      this.lastNotify = Date.now();
      this.notifySending = true;
      void this.db
        .notify(WAKE_CHANNEL, '')
        .catch(() => {})
        .finally(() => {
          this.notifyTimer = undefined;
          this.notifySending = false;
          if (this.notifyAgain) {
            this.notifyAgain = false;
            this.wakeWorkers();
          }
        });
    }, wait);
  }

  /** Waits for every publish submitted so far. */
  drain(): Promise<void> {
    return this.commits.drain();
  }
}
