// Group commit for publishes. Concurrent publish calls are queued and written together:
// one transaction holds every event (and its deliveries) that arrived while the previous
// transaction was committing, and each caller is answered only after the commit that holds
// its event. Under load this turns N commits into one; alone, a publish waits for nobody.

import { type DeliveryObserver, NOOP_OBSERVER } from '../delivery/observer.js';
import { WAKE_CHANNEL } from '../delivery/worker.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { type PublishInput, type PublishOutcome, publishEvents } from '../store/events.js';

interface Waiting {
  input: PublishInput;
  resolve: (o: PublishOutcome) => void;
  reject: (e: unknown) => void;
}

export class Publisher {
  private queue: Waiting[] = [];
  private running = false;
  readonly stats = { batches: 0, events: 0 };

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly maxBatch = 500,
    /** Metrics and traces of publishes (src/observability/); none by default. */
    readonly observer: DeliveryObserver = NOOP_OBSERVER,
  ) {}

  publish(input: PublishInput): Promise<PublishOutcome> {
    return this.observer.publish(
      input,
      () =>
        new Promise((resolve, reject) => {
          this.queue.push({ input, resolve, reject });
          if (!this.running) void this.drain();
        }),
    );
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.write(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      const inputs = batch.map((w) => w.input);
      const { outcomes, endpointIds } = await this.observer.publishBatch(inputs, () =>
        this.db.tx(async (q) => {
          const written = await publishEvents(q, inputs);
          await this.observer.stamp(q, inputs, written.outcomes);
          return written;
        }),
      );
      this.stats.batches += 1;
      this.stats.events += batch.length;
      for (const [i, w] of batch.entries()) w.resolve(outcomes[i]!);
      if (endpointIds.length > 0) await this.wakeWorkers();
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // One bad event (a tenant deleted meanwhile) must not fail its neighbours: write each alone.
      this.log.debug({ err: String(err), events: batch.length }, 'batch publish failed; writing one by one');
      for (const w of batch) await this.write([w]);
    }
  }

  /** Tells workers (in this process or, on PostgreSQL, any process) that work is due. */
  async wakeWorkers(): Promise<void> {
    try {
      await this.db.notify(WAKE_CHANNEL, '');
    } catch {
      // Only a latency hint: workers poll anyway.
    }
  }
}
