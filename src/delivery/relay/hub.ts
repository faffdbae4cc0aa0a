// The relay of `tidings listen`: a developer's CLI holds a stream open to one API process, and
// the deliveries of its relay endpoint go down that stream, signed exactly as an HTTP POST
// would be (the worker builds them with delivery/request.ts as for any endpoint). The CLI
// forwards each request to a local URL and reports what it answered; that report becomes the
// attempt.
//
// One hub per process, shared by the api role (which holds streams: `attach`, `answer`) and the
// worker (which sends: `deliver`). Two ways a request travels:
//
// - in memory, when the stream is held by this process (the default `tidings serve`, and every
//   embedded deployment): no statement at all;
// - through the store, when the worker runs in another process than the stream's holder (roles
//   split over PostgreSQL): the worker writes the sealed request to relay_requests if a holder's
//   heartbeat is fresh, NOTIFYs, and waits for the report; the holder takes it (on the NOTIFY,
//   or its poll) and pushes it; the API process that receives the report writes it and
//   NOTIFYs; the worker reads it (on the NOTIFY, or its poll). Polling is what guarantees
//   progress; NOTIFY only shortens the wait.
//
// With no stream connected anywhere, an attempt fails at once like a refused connection and is
// retried on the endpoint's schedule. A report that never comes fails the attempt at the
// request timeout.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../store/db.js';
import { describeStoreError } from '../../store/errors.js';
import {
  answerRelayRequest,
  collectRelayAnswers,
  expiredRelays,
  offerRelayRequest,
  type RelayReport,
  relayHolder,
  removeRelay,
  setRelayHolder,
  takeRelayRequests,
  touchRelayListeners,
  withdrawRelayRequest,
} from '../../store/relay.js';
import type { SecretCodec } from '../../store/secrets.js';
import {
  type Deadline,
  describeError,
  failure,
  type SendResult,
  withinDeadline,
} from '../destinations/types.js';

export type { RelayReport } from '../../store/relay.js';

/** One request as it goes down the stream. */
export interface RelayMessage {
  request_id: string;
  event_type: string | null;
  headers: Record<string, string>;
  body: string;
}

/** An open stream, as the api route gives it to the hub. */
export interface RelaySink {
  /** Writes one request; false when the stream is gone. */
  send(message: RelayMessage): boolean;
  /** Ends the stream (replaced by a newer one, or the process is stopping). */
  close(): void;
}

export const RELAY_REQUEST_CHANNEL = 'tidings_relay_request';
export const RELAY_ANSWER_CHANNEL = 'tidings_relay_answer';
/** NOTIFY payloads must stay under 8000 bytes. */
const NOTIFY_BYTES = 7000;

export interface RelayHubOptions {
  db: Db;
  codec: SecretCodec;
  clock: Clock;
  log: Logger;
  /** Relay endpoints whose stream has been gone this long are removed. */
  expiryMs: number;
  /** Names this process in relay_listeners.holder. */
  holderId?: string;
  /** How often store hand-offs are looked for when NOTIFY was missed (default 1 s, or the heartbeat). */
  pollMs?: number;
  /** How often a holder renews its streams' heartbeat (default 10 s, or a quarter of the expiry). */
  heartbeatMs?: number;
  /** A heartbeat older than this means nobody holds the stream (default 3 heartbeats). */
  staleMs?: number;
  /** How often expired relays are looked for (default 1 min, and never slower than the expiry). */
  sweepMs?: number;
}

interface Waiting {
  endpointId: string;
  resolve: (r: RelayReport) => void;
}

export class RelayHub {
  readonly holderId: string;
  private readonly sinks = new Map<string, RelaySink>();
  /** Requests sent down a stream of this process, waiting for the CLI's report. */
  private readonly waiting = new Map<string, Waiting>();
  /** Requests handed over through the store, waiting for their report there. */
  private readonly remote = new Map<string, (r: RelayReport) => void>();
  private timers: NodeJS.Timeout[] = [];
  private unlisten: (() => Promise<void>)[] = [];
  private lastHeartbeat = 0;
  private stopped = false;
  private taking = false;
  private collecting = false;
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;

  constructor(private readonly o: RelayHubOptions) {
    this.holderId = o.holderId ?? `relay:${process.pid}:${randomBytes(4).toString('hex')}`;
    // A held stream's heartbeat stays well inside the expiry, so no process removes it.
    this.heartbeatMs = o.heartbeatMs ?? Math.max(50, Math.min(10_000, Math.floor(o.expiryMs / 4)));
    this.pollMs = o.pollMs ?? Math.min(1000, this.heartbeatMs);
    this.staleMs = o.staleMs ?? 3 * this.heartbeatMs;
  }

  async start(): Promise<void> {
    this.unlisten.push(
      await this.o.db.listen(RELAY_REQUEST_CHANNEL, (endpointId) => {
        if (this.sinks.has(endpointId)) void this.take();
      }),
      await this.o.db.listen(RELAY_ANSWER_CHANNEL, (payload) => this.onAnswerNotice(payload)),
    );
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.pollMs, () => {
      if (this.sinks.size > 0) void this.take();
      if (this.remote.size > 0) void this.collect();
      if (this.sinks.size > 0 && Date.now() - this.lastHeartbeat >= this.heartbeatMs) void this.heartbeat();
    });
    every(Math.min(this.o.sweepMs ?? 60_000, this.o.expiryMs), () => void this.sweep());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const sink of this.sinks.values()) sink.close();
    const held = [...this.sinks.keys()];
    this.sinks.clear();
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.resolve(lost('the API process is stopping'));
    }
    for (const [id, resolve] of this.remote) {
      this.remote.delete(id);
      resolve(lost('the worker is stopping'));
    }
    for (const id of held) await setRelayHolder(this.o.db, id, null, this.o.clock.now()).catch(() => {});
    for (const off of this.unlisten.splice(0)) await off().catch(() => {});
  }

  /** Streams held by this process (metrics, tests). */
  get streams(): number {
    return this.sinks.size;
  }

  // ── api side ──────────────────────────────────────────────────────────────

  /**
   * A stream opened for a relay endpoint: its deliveries come here from now on (a stream the
   * endpoint had before, in this process, is ended). Resolves with what to call when it closes.
   */
  async attach(endpointId: string, sink: RelaySink): Promise<() => Promise<void>> {
    const before = this.sinks.get(endpointId);
    this.sinks.set(endpointId, sink);
    if (before) before.close();
    try {
      await setRelayHolder(this.o.db, endpointId, this.holderId, this.o.clock.now());
    } catch (err) {
      if (this.sinks.get(endpointId) === sink) this.sinks.delete(endpointId);
      throw err;
    }
    void this.take();
    return async () => {
      if (this.sinks.get(endpointId) !== sink) return;
      this.sinks.delete(endpointId);
      for (const [id, w] of this.waiting) {
        if (w.endpointId !== endpointId) continue;
        this.waiting.delete(id);
        w.resolve(lost('the `tidings listen` stream closed before it reported'));
      }
      await setRelayHolder(this.o.db, endpointId, null, this.o.clock.now()).catch((err: unknown) =>
        this.o.log.warn(
          { endpoint: endpointId, err: describeStoreError(err) },
          'relay: could not mark stream closed',
        ),
      );
    };
  }

  /**
   * The CLI's report on one request. False: no request of that id waits for this endpoint
   * (it timed out, or was never sent).
   */
  async answer(endpointId: string, requestId: string, report: RelayReport): Promise<boolean> {
    const w = this.waiting.get(requestId);
    if (w && w.endpointId === endpointId) {
      this.waiting.delete(requestId);
      w.resolve(report);
      return true;
    }
    const now = this.o.clock.now();
    if (await answerRelayRequest(this.o.db, endpointId, requestId, report, now)) {
      void this.o.db.notify(RELAY_ANSWER_CHANNEL, requestId).catch(() => {});
      return true;
    }
    // Sent from another API process's memory (the CLI's reports may reach any API process
    // behind a load balancer): passed on to it in the NOTIFY itself. At most once: a lost
    // NOTIFY fails the attempt at its timeout, and it is retried.
    const holder = await relayHolder(this.o.db, endpointId);
    if (holder === null || holder === this.holderId) return false;
    await this.o.db.notify(RELAY_ANSWER_CHANNEL, noticeOf(endpointId, requestId, report));
    return true;
  }

  // ── worker side ───────────────────────────────────────────────────────────

  /** Sends one signed request to a relay endpoint's listener; resolves with the attempt's result. */
  async deliver(
    endpointId: string,
    req: { headers: Record<string, string>; body: string; eventType?: string | undefined; bodyLimit: number },
    deadline: Deadline,
  ): Promise<SendResult> {
    if (this.stopped) return failure('relay: the worker is stopping', deadline);
    const requestId = `rr_${randomBytes(12).toString('base64url')}`;
    const message: RelayMessage = {
      request_id: requestId,
      event_type: req.eventType ?? null,
      headers: req.headers,
      body: req.body,
    };
    let answered: Promise<RelayReport>;
    let cleanup: () => Promise<void>;
    const sink = this.sinks.get(endpointId);
    if (sink) {
      answered = new Promise((resolve) => this.waiting.set(requestId, { endpointId, resolve }));
      cleanup = async () => void this.waiting.delete(requestId);
      if (!sink.send(message)) {
        await cleanup();
        return failure('relay: ECONNREFUSED: the `tidings listen` stream is closing', deadline);
      }
    } else {
      const now = this.o.clock.now();
      let offered: boolean;
      try {
        offered = await offerRelayRequest(this.o.db, {
          id: requestId,
          endpointId,
          message: this.o.codec.seal(JSON.stringify(message)),
          now,
          freshAfter: new Date(now.getTime() - this.staleMs),
        });
      } catch (err) {
        return failure(`relay: could not hand the request over: ${describeStoreError(err)}`, deadline);
      }
      if (!offered) {
        return failure('relay: ECONNREFUSED: no `tidings listen` is connected to this endpoint', deadline);
      }
      answered = new Promise((resolve) => this.remote.set(requestId, resolve));
      cleanup = async () => {
        if (!this.remote.delete(requestId)) return;
        await withdrawRelayRequest(this.o.db, requestId).catch(() => {});
      };
      void this.o.db.notify(RELAY_REQUEST_CHANNEL, endpointId).catch(() => {});
    }
    try {
      const report = await withinDeadline(answered, deadline, 'no report from `tidings listen`');
      return resultOf(report, req.bodyLimit, deadline);
    } catch (err) {
      return failure(`relay: ${describeError(err)}`, deadline);
    } finally {
      await cleanup();
    }
  }

  // ── housekeeping ──────────────────────────────────────────────────────────

  /** Takes the store's hand-offs for the streams this process holds and pushes them. */
  private async take(): Promise<void> {
    if (this.taking || this.sinks.size === 0) return;
    this.taking = true;
    try {
      const rows = await takeRelayRequests(this.o.db, [...this.sinks.keys()], this.o.clock.now());
      for (const row of rows) {
        let message: RelayMessage;
        try {
          message = JSON.parse(this.o.codec.open(row.message)) as RelayMessage;
        } catch (err) {
          this.o.log.error(
            { endpoint: row.endpoint_id, err: describeError(err) },
            'relay: unreadable hand-off',
          );
          continue;
        }
        // Not sent: the worker's deadline fails the attempt, and it is retried.
        this.sinks.get(row.endpoint_id)?.send(message);
      }
    } catch (err) {
      this.o.log.warn({ err: describeStoreError(err) }, 'relay: could not take hand-offs');
    } finally {
      this.taking = false;
    }
  }

  /** Reads the reports that arrived in the store for requests this process handed over. */
  private async collect(): Promise<void> {
    if (this.collecting || this.remote.size === 0) return;
    this.collecting = true;
    try {
      for (const row of await collectRelayAnswers(this.o.db, [...this.remote.keys()])) {
        const resolve = this.remote.get(row.id);
        this.remote.delete(row.id);
        resolve?.(row.report);
      }
    } catch (err) {
      this.o.log.warn({ err: describeStoreError(err) }, 'relay: could not read reports');
    } finally {
      this.collecting = false;
    }
  }

  private onAnswerNotice(payload: string): void {
    if (!payload.startsWith('{')) {
      if (this.remote.has(payload)) void this.collect();
      return;
    }
    try {
      const n = JSON.parse(payload) as { e: string; r: string; report: RelayReport };
      const w = this.waiting.get(n.r);
      if (w && w.endpointId === n.e) {
        this.waiting.delete(n.r);
        w.resolve(n.report);
      }
    } catch {
      // not ours
    }
  }

  private async heartbeat(): Promise<void> {
    this.lastHeartbeat = Date.now();
    await touchRelayListeners(this.o.db, [...this.sinks.keys()], this.holderId, this.o.clock.now()).catch(
      (err: unknown) => this.o.log.warn({ err: describeStoreError(err) }, 'relay: heartbeat failed'),
    );
  }

  /** Removes relay endpoints whose stream has been gone longer than the expiry; returns how many. */
  async sweep(): Promise<number> {
    const now = this.o.clock.now();
    let removed = 0;
    try {
      for (const r of await expiredRelays(this.o.db, new Date(now.getTime() - this.o.expiryMs))) {
        // Held here after all (a heartbeat that failed): renewed instead.
        if (this.sinks.has(r.endpoint_id)) continue;
        if (await this.o.db.tx((q) => removeRelay(q, r.tenant_id, r.endpoint_id))) removed += 1;
      }
      if (removed > 0)
        this.o.log.info({ removed }, 'relay: removed endpoints whose `tidings listen` went away');
    } catch (err) {
      this.o.log.warn({ err: describeStoreError(err) }, 'relay: expiry sweep failed');
    }
    return removed;
  }
}

function lost(why: string): RelayReport {
  return { status: null, headers: null, body: null, error: why };
}

/** The attempt's result from the CLI's report: a local status counts as the endpoint's. */
export function resultOf(r: RelayReport, bodyLimit: number, deadline: Deadline): SendResult {
  const durationMs = deadline.elapsed();
  if (r.status === null) {
    return failure(`relay: ${r.error ?? 'the local URL did not answer'}`, deadline);
  }
  const ok = r.status >= 200 && r.status < 300;
  return {
    ok,
    status: r.status,
    headers: r.headers,
    body: (r.body ?? '').slice(0, bodyLimit),
    error: ok ? null : `HTTP ${r.status}`,
    durationMs,
  };
}

/** A report in a NOTIFY payload: shortened until it fits. */
function noticeOf(endpointId: string, requestId: string, report: RelayReport): string {
  let r = report;
  let text = JSON.stringify({ e: endpointId, r: requestId, report: r });
  if (Buffer.byteLength(text) > NOTIFY_BYTES) {
    r = { ...report, headers: null, body: (report.body ?? '').slice(0, 1000) };
    text = JSON.stringify({ e: endpointId, r: requestId, report: r });
  }
  if (Buffer.byteLength(text) > NOTIFY_BYTES) {
    text = JSON.stringify({
      e: endpointId,
      r: requestId,
      report: { ...r, body: null, error: r.error?.slice(0, 200) ?? null },
    });
  }
  return text;
}
