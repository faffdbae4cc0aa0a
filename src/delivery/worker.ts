// The worker loop: claim due deliveries ahead of need, keep the send slots full, and record
// results in batches. Three stages, each one store statement per batch, none waiting on
// another:
//
//   claim (one in flight) → ready buffer → send slots (`concurrency`) → acks (group commit,
//   a few in flight)
//
// The claim keeps up to `prefetch` deliveries ready beyond the slots, so a slot that frees is
// refilled at once rather than after a round trip. An endpoint's requests in flight are the
// requests this worker really has in flight: results not yet handed to an ack are subtracted
// from the store's counter in the claim (see store/deliveries/claim.ts).
//
// Progress is guaranteed by polling; a wake-up (NOTIFY on PostgreSQL, an in-process signal on
// PGlite, an ack that freed room or promoted an ordered head) only shortens the wait.
//
// Fault isolation: a claim or ack statement that fails on its data (not on a store that is
// away) is retried endpoint by endpoint and result by result; whatever still fails parks its
// endpoint (store/faults.ts) and the rest goes on.
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { leaseUntil } from '../config.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { foldByEndpoint, recordAttempts } from '../store/deliveries/ack.js';
import { type Claim, claimDeliveries } from '../store/deliveries/claim.js';
import { dueEndpoints } from '../store/deliveries/turns.js';
import {
  type AttemptResult,
  type CircuitSettings,
  type ClaimedDelivery,
  DEFAULT_CIRCUIT,
} from '../store/deliveries/types.js';
import { describeStoreError, isStatementError } from '../store/errors.js';
import { parkEndpoint } from '../store/faults.js';
import type { SecretCodec } from '../store/secrets.js';
import { WAKE_CHANNEL } from '../wakeup.js';
import type { Destinations } from './destinations/index.js';
import type { EndpointTargets } from './destinations/targets.js';
import { GroupCommit } from './groupCommit.js';
import { keepBody } from './keptBody.js';
import { Maintenance, type MaintenanceOptions } from './maintenance.js';
import { type DeliveryObserver, NOOP_OBSERVER } from './observer.js';
import { cachingCodec } from './openedSecrets.js';
import { decideOutcome } from './outcome.js';
import { buildRequest } from './request.js';
import { createRetryPolicy, type RetryPolicy } from './retryPolicy.js';
import type { SendResult } from './sender.js';

export { WAKE_CHANNEL };

export interface WorkerOptions {
  db: Db;
  codec: SecretCodec;
  clock: Clock;
  log: Logger;
  /** Where requests go (HTTP with mTLS/OAuth2, brokers), and each endpoint's opened settings (issue 17). */
  destinations: Destinations;
  targets: EndpointTargets;
  retry: RetryPolicy;
  concurrency: number;
  claimBatch: number;
  claimPerEndpoint: number;
  requestTimeoutMs: number;
  leaseMarginMs: number;
  pollIntervalMs: number;
  responseBodyLimit: number;
  workerId?: string;
  /** Deliveries claimed ahead of free slots (default: as many as the slots). */
  prefetch?: number;
  /** Ack statements in flight at once (default: 2 on PostgreSQL, 1 on PGlite). */
  ackWriters?: number;
  /** Circuit breaker (see circuit.ts); default: open after 5 failures, probes 5 s to 5 min apart. */
  circuit?: CircuitSettings;
  health?: MaintenanceOptions['health'];
  retention?: MaintenanceOptions['retention'];
  /** The attempt chain's sealer and checkpoints (delivery/auditChain.ts). */
  audit?: MaintenanceOptions['audit'];
  /** Metrics and traces of claims, attempts and acks (src/observability/); none by default. */
  observer?: DeliveryObserver;
}

/** How a loop of this worker is doing, for /readyz. */
export interface LoopStatus {
  /** When the claim or ack last failed without a success since. */
  failingSince: Date | null;
  lastError: string | null;
}

export interface WorkerStats {
  claimed: number;
  sent: number;
  succeeded: number;
  failed: number;
  claims: number;
  emptyClaims: number;
  flushes: number;
  parked: number;
  /** Turns the safety net had to restore (anything but 0 is a bug somewhere). */
  readonly repairedTurns: number;
}

const MAX_BACKOFF_MS = 5000;
const backoff = (failures: number) => Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(failures, 6));
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Worker {
  readonly id: string;
  private running = false;
  /** Claimed, waiting for a send slot. */
  private ready: ClaimedDelivery[] = [];
  /** Deliveries claimed and not yet acked by this worker, by id. */
  private readonly active = new Set<number>();
  private sending = 0;
  /** Finished requests whose ack statement has not started, per endpoint (see the top). */
  private readonly finished = new Map<string, number>();
  /** Results submitted and not yet recorded, by delivery id: the claim counts their failures. */
  private readonly unrecorded = new Map<number, AttemptResult>();
  private claiming: Promise<void> | undefined;
  /** A wake-up arrived (or the poll interval passed) since the last claim started. */
  private woken = true;
  /** The last claim filled its limit: more may be waiting. */
  private more = false;
  private claimFailures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly endpointPolicies = new Map<string, RetryPolicy>();
  private pollTimer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private readonly sends = new Set<Promise<void>>();
  private readonly acks: GroupCommit<AttemptResult, undefined>;
  private readonly codec: SecretCodec;
  private readonly maintenance: Maintenance;
  private readonly target: number;
  private readonly obs: DeliveryObserver;
  /** Counters for metrics and tests. */
  readonly stats: WorkerStats;
  readonly status: { claim: LoopStatus; ack: LoopStatus } = {
    claim: { failingSince: null, lastError: null },
    ack: { failingSince: null, lastError: null },
  };

  constructor(private readonly o: WorkerOptions) {
    this.id = o.workerId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.codec = cachingCodec(o.codec);
    this.obs = o.observer ?? NOOP_OBSERVER;
    this.target = o.concurrency + (o.prefetch ?? o.concurrency);
    this.acks = new GroupCommit({
      write: (results) => this.writeAcks(results),
      maxBatch: 1000,
      maxInFlight: o.ackWriters ?? (o.db.engine === 'pg' ? 2 : 1),
      // A second ack starts only once 48 results wait: an ack's cost is mostly fixed, and its
      // latency holds nothing up (a claim counts finished requests out of in-flight already).
      // 16 gave ~20 results per ack under the e2e bench, 48 ~30: 0.051 → 0.033 acks per
      // delivered event, PostgreSQL CPU per delivery −25 % (with the batch route's single
      // statement, same run).
      eagerAt: 48,
    });
    this.maintenance = new Maintenance({
      db: o.db,
      clock: o.clock,
      log: o.log,
      leaseMarginMs: o.leaseMarginMs,
      pollIntervalMs: o.pollIntervalMs,
      circuitOpenAfter: (o.circuit ?? DEFAULT_CIRCUIT).openAfter,
      ...(o.health ? { health: o.health } : {}),
      ...(o.retention ? { retention: o.retention } : {}),
      ...(o.audit ? { audit: o.audit } : {}),
      onWork: () => this.wake(),
      running: () => this.running,
    });
    const m = this.maintenance.stats;
    this.stats = {
      claimed: 0,
      sent: 0,
      succeeded: 0,
      failed: 0,
      claims: 0,
      emptyClaims: 0,
      flushes: 0,
      parked: 0,
      get repairedTurns() {
        return m.repairedTurns;
      },
    };
  }

  async start(): Promise<void> {
    this.running = true;
    this.unlisten = await this.o.db.listen(WAKE_CHANNEL, () => this.wake());
    this.pollTimer = setInterval(() => this.wake(), this.o.pollIntervalMs);
    this.pollTimer.unref();
    await this.maintenance.start();
    this.kick();
  }

  /** One health sweep now (tests call it; a timer calls it too). */
  sweepHealth(): Promise<unknown> {
    return this.maintenance.sweepHealth();
  }

  /** One retention pass now. */
  runRetention(): Promise<unknown> {
    return this.maintenance.runRetention();
  }

  /** One endpoint stats rollup now (of the attempts recorded before `cutoff`, when given). */
  rollUpStats(cutoff?: Date): Promise<unknown> {
    return this.maintenance.rollUpStats(cutoff);
  }

  /** Chains the attempts recorded so far (as far as they can be: see auditChain.ts). */
  sealAttempts(): Promise<unknown> {
    return this.maintenance.seal();
  }

  /** Seals, then signs and publishes a checkpoint of every chain that grew. */
  checkpointChains(): Promise<unknown> {
    return this.maintenance.checkpoint(true);
  }

  /** Stops claiming, lets claimed and in-flight sends finish, writes their results. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.claiming;
    await this.maintenance.stop();
    // What was claimed is sent: its leases are ours, and sending beats waiting out a lease.
    while (this.ready.length > 0 || this.sends.size > 0) {
      this.pump(true);
      await Promise.allSettled([...this.sends]);
    }
    await this.acks.drain();
    await this.unlisten?.();
  }

  /** There may be due work: claim if there is room. */
  wake(): void {
    this.woken = true;
    this.kick();
  }

  /** Starts a claim if one is useful now; never more than one at a time. */
  private kick(): void {
    if (!this.running || this.claiming || this.retryTimer) return;
    const room = this.target - this.sending - this.ready.length;
    if (room <= 0) return;
    if (!this.woken && !this.more) return;
    // More is waiting but only a little room: wait until a useful batch fits, unless the
    // slots are about to run dry.
    if (!this.woken && room < Math.min(this.o.claimBatch, 16) && this.ready.length > 0) return;
    this.woken = false;
    this.claiming = this.claim(Math.min(room, this.o.claimBatch)).finally(() => {
      this.claiming = undefined;
      // Through the macrotask queue: sockets and timers run between back-to-back claims.
      setImmediate(() => this.kick());
    });
  }

  private claimOptions(limit: number) {
    const now = this.o.clock.now();
    return {
      now,
      leaseUntil: leaseUntil(now, this.o),
      requestTimeoutMs: this.o.requestTimeoutMs,
      workerId: this.id,
      limit,
      perEndpoint: this.o.claimPerEndpoint,
      endpoints: Math.max(10, Math.ceil(limit / 2)),
      circuitOpenAfter: (this.o.circuit ?? DEFAULT_CIRCUIT).openAfter,
      finished: this.finished,
      unrecorded: this.unrecordedHealth(),
    };
  }

  /**
   * The health of this worker's unrecorded results per endpoint, for the claim's circuit; only
   * folded (a sort) when one of them failed: the claim reads nothing else from it.
   */
  private unrecordedHealth() {
    for (const r of this.unrecorded.values())
      if (r.next !== 'succeeded') return foldByEndpoint(this.unrecorded.values());
    return undefined;
  }

  private async claim(limit: number): Promise<void> {
    let claimed: ClaimedDelivery[];
    try {
      claimed = await this.obs.claim(limit, () => claimDeliveries(this.o.db, this.claimOptions(limit)));
    } catch (err) {
      if (isStatementError(err)) {
        claimed = await this.claimEndpointByEndpoint(limit, err);
      } else {
        this.claimFailed(err);
        return;
      }
    }
    this.claimFailures = 0;
    this.status.claim.failingSince = null;
    this.stats.claims += 1;
    this.stats.claimed += claimed.length;
    if (claimed.length === 0) this.stats.emptyClaims += 1;
    // More may be waiting: the claim filled its limit, or left due work behind (an endpoint's
    // share of one claim, or the claim's own limit across endpoints).
    this.more = claimed.length >= limit || (claimed as Claim).leftDue === true;
    for (const d of claimed) {
      // Our own lease ran out while we still hold the delivery (a stalled event loop, or a
      // clock moved forward in a test): the claim took it over for us again. It is being
      // sent already; its ack still applies, since the lease is ours.
      if (this.active.has(d.id)) continue;
      this.active.add(d.id);
      this.ready.push(d);
    }
    this.pump();
  }

  /** The store is away (a restart, a network cut): back off, then try again. */
  private claimFailed(err: unknown): void {
    this.claimFailures += 1;
    this.status.claim.failingSince ??= this.o.clock.now();
    this.status.claim.lastError = describeStoreError(err);
    this.o.log.warn({ err: describeStoreError(err), failures: this.claimFailures }, 'claim failed; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wake();
    }, backoff(this.claimFailures));
    this.retryTimer.unref();
  }

  /**
   * The claim statement failed on its data: claim for each due endpoint alone. An endpoint
   * whose own claim fails the same way is parked, unless every endpoint fails (then it is the
   * statement, not the data: nothing is parked, and the claim backs off like any failure).
   */
  private async claimEndpointByEndpoint(limit: number, first: unknown): Promise<ClaimedDelivery[]> {
    const opts = this.claimOptions(limit);
    const endpoints = await dueEndpoints(this.o.db, opts.now, opts.endpoints).catch(() => []);
    const claimed: ClaimedDelivery[] = [];
    const failing: { endpoint: string; err: unknown }[] = [];
    for (const endpoint of endpoints) {
      if (claimed.length >= limit) break;
      try {
        claimed.push(
          ...(await claimDeliveries(this.o.db, {
            ...opts,
            limit: limit - claimed.length,
            onlyEndpoint: endpoint,
          })),
        );
      } catch (err) {
        if (!isStatementError(err)) throw err;
        failing.push({ endpoint, err });
      }
    }
    // Nothing to try one by one, or every endpoint fails alike: the statement, not the data.
    if (endpoints.length === 0 || (failing.length === endpoints.length && !dataError(first))) {
      this.claimFailed(first);
      return claimed;
    }
    for (const f of failing) await this.park(f.endpoint, `claim failed: ${describeStoreError(f.err)}`);
    return claimed;
  }

  private async park(endpointId: string, error: string): Promise<void> {
    try {
      if (await parkEndpoint(this.o.db, endpointId, error, this.o.clock.now())) {
        this.stats.parked += 1;
        this.o.log.error(
          { endpoint: endpointId, error },
          'endpoint parked: it makes delivery fail; fix or update it',
        );
      }
    } catch (err) {
      this.o.log.error({ endpoint: endpointId, err: describeStoreError(err) }, 'could not park endpoint');
    }
  }

  /** Starts sends from the ready buffer while slots are free. */
  private pump(draining = false): void {
    while (this.sending < this.o.concurrency && this.ready.length > 0 && (this.running || draining)) {
      this.dispatch(this.ready.shift()!);
    }
  }

  private dispatch(d: ClaimedDelivery): void {
    this.sending += 1;
    const p = this.deliver(d)
      .catch((err) => this.o.log.error({ err: String(err), delivery: d.id }, 'delivery crashed'))
      .finally(() => {
        this.sending -= 1;
        this.sends.delete(p);
        this.pump();
        this.kick();
      });
    this.sends.add(p);
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const startedAt = this.o.clock.now();
    const attempt = d.attempts + 1;
    const built = buildRequest(d, this.codec, startedAt);
    const observed = this.obs.attempt(d, attempt);
    let res: SendResult;
    // What was sent is kept: its hash, and the body compressed while the request is in flight.
    const kept = built.ok ? keepBody(built.body) : null;
    if (built.ok) {
      // The endpoint's opened destination settings (mTLS, OAuth2, broker), cached by version.
      const target = await this.o.targets.get(d.endpoint_id, {
        url: d.url,
        version: d.endpoint_updated_at.getTime(),
      });
      res = await observed.run(() =>
        this.o.destinations.send(target, {
          headers: built.headers,
          body: built.body,
          timeoutMs: d.timeout_ms ?? this.o.requestTimeoutMs,
          bodyLimit: this.o.responseBodyLimit,
          eventType: d.event_type,
        }),
      );
    } else {
      res = { ok: false, status: null, headers: null, body: null, error: built.error, durationMs: 0 };
    }
    this.stats.sent += 1;
    let outcome = decideOutcome(
      res,
      attempt,
      this.retryPolicyOf(d),
      startedAt,
      this.o.clock.now(),
      !built.ok,
    );
    if (!built.ok && built.endpointFault) {
      // Every delivery of this endpoint would fail the same way: park it; this one waits.
      await this.park(d.endpoint_id, built.error);
      outcome = { next: 'retry', retryAt: this.o.clock.now(), gone: false };
    }
    observed.end({ status: res.status, durationMs: res.durationMs, error: res.error, next: outcome.next });
    if (outcome.next === 'succeeded') this.stats.succeeded += 1;
    else this.stats.failed += 1;
    const bodyPacked = kept ? await kept.packed : null;
    this.finished.set(d.endpoint_id, (this.finished.get(d.endpoint_id) ?? 0) + 1);
    const result: AttemptResult = {
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
      next: outcome.next,
      retryAt: outcome.retryAt,
      gone: outcome.gone,
      endpointSequence: d.endpoint_sequence,
      bodySha256: kept?.sha256 ?? null,
      bodyPacked,
    };
    this.unrecorded.set(d.id, result);
    void this.acks.submit(result).catch(() => {
      this.unrecorded.delete(d.id);
    });
  }

  /** The endpoint's own retry schedule (issue 15), or the deployment's; one policy per schedule. */
  private retryPolicyOf(d: ClaimedDelivery): RetryPolicy {
    if (!d.retry_schedule) return this.o.retry;
    const key = d.retry_schedule.join(',');
    let policy = this.endpointPolicies.get(key);
    if (!policy) {
      if (this.endpointPolicies.size >= 1000) this.endpointPolicies.clear();
      policy = createRetryPolicy(d.retry_schedule);
      this.endpointPolicies.set(key, policy);
    }
    return policy;
  }

  /** One ack statement for a batch (group commit calls this; a few run at once). */
  private async writeAcks(results: AttemptResult[]): Promise<undefined[]> {
    // From here on the store's in-flight counter is what counts for these requests.
    for (const r of results) {
      const n = (this.finished.get(r.endpointId) ?? 1) - 1;
      if (n > 0) this.finished.set(r.endpointId, n);
      else this.finished.delete(r.endpointId);
    }
    const woke = await this.record(results);
    // Only now: until its ack is in, a claim may still hand one of these back to us.
    for (const r of results) {
      this.active.delete(r.deliveryId);
      this.unrecorded.delete(r.deliveryId);
    }
    // A give-up is told to the operator (tidings.delivery.failed), in a transaction of its own
    // beside the loop; acks without one cost nothing more. A stopping worker leaves them to the
    // next health sweep of any worker.
    if (this.running && results.some((r) => r.next === 'failed'))
      void this.maintenance.notifyFailures().catch(() => {});
    this.stats.flushes += 1;
    if (woke) this.wake();
    return results.map(() => undefined);
  }

  /**
   * Records results until it works: the store may be restarting (if it never comes back the
   * leases run out and another worker sends again: at least once). A batch that fails on its
   * data is split until the result that fails is alone; that one is recorded without what it
   * may not hold (the response), and if even that fails its endpoint is parked. Returns
   * whether the acks made work due now.
   */
  private async record(results: AttemptResult[], lastResort = false): Promise<boolean> {
    let failures = 0;
    for (;;) {
      try {
        const out = await this.obs.ack(results, () =>
          recordAttempts(this.o.db, results, this.id, this.o.clock.now(), this.o.circuit ?? DEFAULT_CIRCUIT),
        );
        this.status.ack.failingSince = null;
        return out.dueMarks > 0 || out.promoted.length > 0;
      } catch (err) {
        if (isStatementError(err)) {
          if (!lastResort) return this.recordApart(results);
          // The delivery keeps its lease until it runs out; its endpoint stays parked until fixed.
          await this.park(results[0]!.endpointId, `recording an attempt failed: ${describeStoreError(err)}`);
          return false;
        }
        failures += 1;
        this.status.ack.failingSince ??= this.o.clock.now();
        this.status.ack.lastError = describeStoreError(err);
        this.o.log.warn(
          { err: describeStoreError(err), failures, results: results.length },
          'recording attempts failed; retrying',
        );
        if (!this.running && failures > 20) return false;
        await pause(backoff(failures));
      }
    }
  }

  private async recordApart(results: AttemptResult[]): Promise<boolean> {
    if (results.length > 1) {
      const half = Math.ceil(results.length / 2);
      const a = await this.record(results.slice(0, half));
      const b = await this.record(results.slice(half));
      return a || b;
    }
    // Alone and still failing: keep what must be kept (the outcome), drop what may not fit.
    const r = results[0]!;
    return this.record(
      [
        {
          ...r,
          requestHeaders: {},
          responseHeaders: null,
          responseBody: null,
          bodyPacked: null,
          error: r.error?.slice(0, 500) ?? null,
        },
      ],
      true,
    );
  }
}

/** A data exception (22) or integrity violation (23): bad values, not a bad statement. */
function dataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
