// What the delivery engine tells observability (metrics, traces) about its hot path. The
// publisher and the worker call these few methods; src/observability/ implements them with
// prom-client and OpenTelemetry. The engine never depends on either library, and with no
// observer (NOOP_OBSERVER) every call is a plain function call that does nothing.
//
// The wrapping methods (publishBatch, claim, ack, attempt.run) exist so that a span can be
// active while the store statements or the HTTP request run: the pg and undici spans then
// become its children.
import type { AttemptResult, ClaimedDelivery } from '../store/deliveries/types.js';
import type { PublishInput, PublishOutcome } from '../store/events.js';

/** How one attempt ended, as the worker decided it. */
export interface AttemptEnd {
  status: number | null;
  durationMs: number;
  error: string | null;
  next: AttemptResult['next'];
}

/** One attempt in progress. */
export interface AttemptObservation {
  /** Runs the HTTP request inside the attempt's span. */
  run<T>(send: () => Promise<T>): Promise<T>;
  /** The attempt's result: counts it, times it and ends its span. */
  end(outcome: AttemptEnd): void;
}

export interface DeliveryObserver {
  /** One publish (one event), from the call until its outcome is known. */
  publish(input: PublishInput, run: () => Promise<PublishOutcome>): Promise<PublishOutcome>;
  /** One group-commit transaction of the publisher; counts its outcomes once it committed. */
  publishBatch<T extends { outcomes: PublishOutcome[] }>(
    inputs: readonly PublishInput[],
    write: () => Promise<T>,
  ): Promise<T>;
  /**
   * The trace context (W3C traceparent) of a publish in progress, stored with its event by the
   * publish statement so that the attempts can link to their publish; null when not tracing.
   */
  traceContext(input: PublishInput): string | null;
  /** One claim transaction. */
  claim(limit: number, run: () => Promise<ClaimedDelivery[]>): Promise<ClaimedDelivery[]>;
  /** One attempt of a claimed delivery (attempt: its number, 1 for the first). */
  attempt(d: ClaimedDelivery, attempt: number): AttemptObservation;
  /** One ack transaction (recordAttempts); counts completions once it committed. */
  ack<T>(results: readonly AttemptResult[], run: () => Promise<T>): Promise<T>;
  /** A delivery given up on by hand (skipped: cancelled). */
  cancelled(tenantId: string): void;
}

const NOOP_ATTEMPT: AttemptObservation = {
  run: (send) => send(),
  end: () => {},
};

export const NOOP_OBSERVER: DeliveryObserver = {
  publish: (_input, run) => run(),
  publishBatch: (_inputs, write) => write(),
  traceContext: () => null,
  claim: (_limit, run) => run(),
  attempt: () => NOOP_ATTEMPT,
  ack: (_results, run) => run(),
  cancelled: () => {},
};
