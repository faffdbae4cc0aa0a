// Group commit: items submitted one at a time are written in batches, each batch one
// statement, with a few batches in flight at once. The publisher writes events this way and
// the worker its acks. Under load a batch fills while the previous one is being written, so
// the store's commit rate is not the ceiling. A batch started from idle first lets the event
// loop finish its turn (one setImmediate, no timer): the requests parsed in the same turn go
// together instead of one statement each, and an item alone waits for nothing but that.

export interface GroupCommitOptions<T, R> {
  /** Writes one batch; returns one result per item, in order. A throw fails every item. */
  write: (items: T[]) => Promise<R[]>;
  /** Most items in one batch. */
  maxBatch: number;
  /** Batches written at the same time. */
  maxInFlight: number;
  /**
   * With a batch already in flight, another starts only once this many items wait (or the
   * batch in flight ends): a second statement for one item would cost more than it saves.
   */
  eagerAt?: number;
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<T, R> {
  private queue: Waiting<T, R>[] = [];
  private inFlight = 0;
  private lingering = false;
  private readonly idle: (() => void)[] = [];
  readonly stats = { batches: 0, items: 0 };

  constructor(private readonly o: GroupCommitOptions<T, R>) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Items waiting or being written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once everything submitted so far has been written (or failed). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    if (this.lingering) return;
    if (this.inFlight === 0 && this.queue.length > 0 && this.queue.length < (this.o.eagerAt ?? 1)) {
      this.lingering = true;
      setImmediate(() => {
        this.lingering = false;
        this.drainQueue();
      });
      return;
    }
    this.drainQueue();
  }

  private drainQueue(): void {
    while (this.queue.length > 0 && this.inFlight < this.o.maxInFlight) {
      if (this.inFlight > 0 && this.queue.length < (this.o.eagerAt ?? 1)) return;
      const batch = this.queue.splice(0, this.o.maxBatch);
      this.inFlight += 1;
      void this.run(batch);
    }
  }

  private async run(batch: Waiting<T, R>[]): Promise<void> {
    try {
      const results = await this.o.write(batch.map((w) => w.item));
      this.stats.batches += 1;
      this.stats.items += batch.length;
      for (const [i, w] of batch.entries()) w.resolve(results[i]!);
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.inFlight -= 1;
      this.pump();
      if (this.queue.length === 0 && this.inFlight === 0) {
        for (const f of this.idle.splice(0)) f();
      }
    }
  }
}
