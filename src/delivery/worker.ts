// The worker loop: claim due deliveries in batches, send them with bounded concurrency,
// and record results in batches. Commits are shared: one claim transaction for many
// deliveries and one ack transaction for every result that arrived while the previous
// ack was being written (group commit), so the store's commit rate is not the ceiling.
//
// Progress is guaranteed by polling; a wake-up (NOTIFY on PostgreSQL, an in-process signal
// on PGlite) only shortens the wait after a publish.
import { hostname } from 'node:os';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import {
  type AttemptResult,
  type CircuitSettings,
  type ClaimedDelivery,
  claimDeliveries,
  DEFAULT_CIRCUIT,
  recordAttempts,
  releaseExpiredLeases,
  repairMissedTurns,
} from '../store/deliveries.js';
import type { SecretCodec } from '../store/secrets.js';
import { Wakeup } from '../wakeup.js';
import { sweepEndpointHealth } from './health.js';
import { type DeliveryObserver, NOOP_OBSERVER } from './observer.js';
import { buildRequest } from './request.js';
import { runRetention } from './retention.js';
import { parseRetryAfter, type RetryPolicy } from './retryPolicy.js';
import { send } from './sender.js';

export const WAKE_CHANNEL = 'tidings_wake';

export interface WorkerOptions {
  db: Db;
  codec: SecretCodec;
  clock: Clock;
  log: Logger;
  dispatcher: Dispatcher;
  retry: RetryPolicy;
  concurrency: number;
  claimBatch: number;
  claimPerEndpoint: number;
  requestTimeoutMs: number;
  leaseMarginMs: number;
  pollIntervalMs: number;
  responseBodyLimit: number;
  workerId?: string;
  /** Circuit breaker (see circuit.ts); default: open after 5 failures, probes 5 s to 5 min apart. */
  circuit?: CircuitSettings;
  /** The endpoint health sweep (operator notices, auto-disable); off when absent. */
  health?: {
    operatorTenant: string;
    failingNoticeAfterMs: number;
    disableAfterMs: number;
    /** How often the sweep runs; default from the poll interval, between 1 s and 30 s. */
    intervalMs?: number;
  };
  /** Retention in days (0: keep everything); off when absent. */
  retention?: { days: number; intervalMs?: number };
  /** Metrics and traces of claims, attempts and acks (src/observability/); none when absent. */
  observer?: DeliveryObserver;
}

export class Worker {
  readonly id: string;
  private running = false;
  private inFlight = 0;
  private pendingResults: AttemptResult[] = [];
  private flushing: Promise<void> | undefined;
  private readonly wakeup = new Wakeup();
  private loopDone: Promise<void> | undefined;
  private reaper: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private readonly sends = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** Health sweep and retention runs in progress, by name. */
  private readonly background = new Map<string, Promise<unknown>>();
  /** Counters for metrics and tests. */
  readonly stats = { claimed: 0, sent: 0, succeeded: 0, failed: 0, claims: 0, flushes: 0, repairedTurns: 0 };

  private readonly obs: DeliveryObserver;

  constructor(private readonly o: WorkerOptions) {
    this.obs = o.observer ?? NOOP_OBSERVER;
    this.id = o.workerId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  }

  async start(): Promise<void> {
    this.running = true;
    this.unlisten = await this.o.db.listen(WAKE_CHANNEL, () => this.wake());
    this.reaper = setInterval(
      () => void this.reap(),
      Math.max(1000, Math.min(5000, this.o.leaseMarginMs / 2)),
    );
    this.reaper.unref();
    await this.reap();
    if (this.o.health) {
      const every = this.o.health.intervalMs ?? Math.max(1000, Math.min(30_000, this.o.pollIntervalMs * 10));
      this.sweeper = setInterval(() => void this.sweepHealth().catch(() => {}), every);
      this.sweeper.unref();
    }
    if (this.o.retention && this.o.retention.days > 0) {
      // Every worker runs it; the batches skip nothing and collide on nothing, so a second
      // runner only finds less to do. Hourly by default, first a minute after start.
      const every = this.o.retention.intervalMs ?? 3_600_000;
      const first = setTimeout(() => void this.runRetention().catch(() => {}), Math.min(every, 60_000));
      first.unref();
      this.retentionTimer = setInterval(() => void this.runRetention().catch(() => {}), every);
      this.retentionTimer.unref();
    }
    this.loopDone = this.loop();
  }

  /** One health sweep now (tests call it; the timer calls it too). Concurrent calls share one run. */
  sweepHealth(): Promise<unknown> {
    const h = this.o.health;
    if (!h) return Promise.resolve();
    return this.shared('health', 'endpoint health sweep', async () => {
      const r = await sweepEndpointHealth({ db: this.o.db, clock: this.o.clock, log: this.o.log, ...h });
      // Operator events were published: their deliveries are due.
      if (r.failing + r.disabled + r.recovered > 0) this.wake();
      return r;
    });
  }

  /** One retention pass now. Concurrent calls share one run. */
  runRetention(): Promise<unknown> {
    const r = this.o.retention;
    if (!r) return Promise.resolve();
    return this.shared('retention', 'retention pass', () =>
      runRetention({
        db: this.o.db,
        clock: this.o.clock,
        log: this.o.log,
        retentionDays: r.days,
        shouldStop: () => !this.running,
      }),
    );
  }

  /** Runs a background job unless it is running already (then joins that run); logs a failure. */
  private shared(key: string, what: string, job: () => Promise<unknown>): Promise<unknown> {
    let run = this.background.get(key);
    if (!run) {
      run = job()
        .catch((err) => {
          this.o.log.warn({ err: String(err) }, `${what} failed; will retry`);
          throw err;
        })
        .finally(() => this.background.delete(key));
      this.background.set(key, run);
    }
    return run;
  }

  /** Stops claiming, lets in-flight sends finish, writes their results. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.reaper) clearInterval(this.reaper);
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.wake();
    await this.loopDone;
    await Promise.allSettled([...this.background.values()]);
    await Promise.allSettled([...this.sends]);
    await this.flush();
    await this.unlisten?.();
  }

  wake(): void {
    this.wakeup.wake();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const room = this.o.concurrency - this.inFlight;
      if (room <= 0) {
        // Every slot is busy: a wake-up (a publish, a promoted key) cannot be acted on now.
        // Forget it, or the loop would spin on an already-resolved sleep; a finished send
        // wakes us when a slot frees.
        this.wakeup.pending = false;
        await this.sleep(this.o.pollIntervalMs);
        continue;
      }
      let claimed: ClaimedDelivery[];
      try {
        this.wakeup.pending = false;
        claimed = await this.claim(Math.min(room, this.o.claimBatch));
        failures = 0;
      } catch (err) {
        // The store is unreachable (a restart, a network cut): back off and try again.
        failures += 1;
        this.o.log.warn({ err: String(err), failures }, 'claim failed; retrying');
        await this.sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      for (const d of claimed) this.dispatch(d);
      // A full claim means more may be waiting: go again at once. Otherwise wait for a
      // wake-up, a free slot, or the poll interval.
      if (
        claimed.length === 0 ||
        (claimed.length < Math.min(room, this.o.claimBatch) && !this.wakeup.pending)
      ) {
        await this.sleep(this.o.pollIntervalMs);
      }
    }
  }

  private async claim(limit: number): Promise<ClaimedDelivery[]> {
    const now = this.o.clock.now();
    const claimed = await this.obs.claim(limit, () =>
      this.o.db.tx((q) =>
        claimDeliveries(q, {
          now,
          leaseUntil: new Date(now.getTime() + this.o.requestTimeoutMs + this.o.leaseMarginMs),
          workerId: this.id,
          limit,
          perEndpoint: this.o.claimPerEndpoint,
          endpoints: Math.max(10, Math.ceil(limit / 2)),
          circuitOpenAfter: (this.o.circuit ?? DEFAULT_CIRCUIT).openAfter,
        }),
      ),
    );
    this.stats.claims += 1;
    this.stats.claimed += claimed.length;
    return claimed;
  }

  private dispatch(d: ClaimedDelivery): void {
    this.inFlight += 1;
    const p = this.deliver(d)
      .catch((err) => this.o.log.error({ err: String(err), delivery: d.id }, 'delivery crashed'))
      .finally(() => {
        this.inFlight -= 1;
        this.sends.delete(p);
        // A slot is free: the loop may claim again.
        this.wakeup.nudge();
      });
    this.sends.add(p);
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const startedAt = this.o.clock.now();
    const attempt = d.attempts + 1;
    const built = buildRequest(d, this.o.codec, startedAt);
    const observed = this.obs.attempt(d, attempt);
    const res = built.ok
      ? await observed.run(() =>
          send(this.o.dispatcher, {
            url: d.url,
            headers: built.headers,
            body: built.body,
            timeoutMs: this.o.requestTimeoutMs,
            bodyLimit: this.o.responseBodyLimit,
          }),
        )
      : { ok: false, status: null, headers: null, body: null, error: built.error, durationMs: 0 };
    this.stats.sent += 1;
    let next: AttemptResult['next'];
    let retryAt: Date | null = null;
    const gone = res.status === 410;
    if (res.ok) {
      next = 'succeeded';
      this.stats.succeeded += 1;
    } else {
      this.stats.failed += 1;
      const retryAfter =
        res.status === 429 || res.status === 503
          ? parseRetryAfter(res.headers?.['retry-after'], startedAt)
          : undefined;
      const decision =
        gone || !built.ok
          ? { next: 'failed' as const, delayMs: 0 }
          : this.o.retry.afterFailure(attempt, retryAfter);
      next = decision.next;
      if (next === 'retry') retryAt = new Date(this.o.clock.now().getTime() + decision.delayMs);
    }
    observed.end({ status: res.status, durationMs: res.durationMs, error: res.error, next });
    this.pendingResults.push({
      deliveryId: d.id,
      endpointId: d.endpoint_id,
      attempt,
      startedAt,
      durationMs: res.durationMs,
      url: d.url,
      status: res.status,
      requestHeaders: built.ok ? built.recordedHeaders : {},
      responseHeaders: res.headers,
      responseBody: res.body,
      error: res.error,
      next,
      retryAt,
      gone,
    });
    void this.flush();
  }

  /** Writes every result gathered so far in one transaction; results that arrive meanwhile wait for the next. */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pendingResults.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      let failures = 0;
      while (this.pendingResults.length > 0) {
        const batch = this.pendingResults.splice(0, 1000);
        try {
          await this.obs.ack(batch, () =>
            this.o.db.tx((q) =>
              recordAttempts(q, batch, this.id, this.o.clock.now(), this.o.circuit ?? DEFAULT_CIRCUIT),
            ),
          );
          this.stats.flushes += 1;
          // The acks freed in-flight room on their endpoints (max_in_flight counts rows still
          // delivering), and may have made the next event of an ordering key due: claim now
          // rather than at the next poll.
          this.wake();
          failures = 0;
        } catch (err) {
          // Keep the results and try again: the store may be restarting. If we never get
          // through, the leases expire and another worker sends again (at least once).
          this.pendingResults.unshift(...batch);
          failures += 1;
          this.o.log.warn(
            { err: String(err), failures, results: batch.length },
            'recording attempts failed; retrying',
          );
          if (!this.running && failures > 20) return;
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(failures, 6))));
        }
      }
    })().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async reap(): Promise<void> {
    try {
      const n = await this.o.db.tx((q) => releaseExpiredLeases(q, this.o.clock.now()));
      if (n > 0) this.o.log.warn({ deliveries: n }, 'took over deliveries whose lease expired');
      const repaired = await this.o.db.tx((q) => repairMissedTurns(q, this.o.clock.now()));
      this.stats.repairedTurns += repaired;
      if (repaired > 0)
        this.o.log.warn({ endpoints: repaired }, 'endpoints with due work had no turn; scheduled them');
    } catch (err) {
      this.o.log.warn({ err: String(err) }, 'lease reaper failed; will retry');
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return this.wakeup.sleep(ms);
  }
}
