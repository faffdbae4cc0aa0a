// The delivery engine's observer (delivery/observer.ts) with prom-client metrics and
// OpenTelemetry spans. Either half may be off: no metrics object (TIDINGS_METRICS=off), no
// tracing (no OTEL_* variable set). With tracing off no span is made and no trace context is
// stored or read; with metrics off nothing is counted.
//
// Spans, and how they link:
//   tidings.publish        one per event (event id, type, tenant), from the call to the answer;
//   tidings.publish.batch  one per group-commit transaction (the pg spans are its children),
//                          linked from every publish it wrote;
//   tidings.claim          one per claim that took deliveries, linked to the publish of each one;
//   tidings.attempt        one per attempt, a child of its claim, linked to its event's publish
//                          (the publish's trace context is stored with the event: events.trace_context,
//                          so the link holds across processes); the undici span is its child;
//   tidings.ack            one per ack transaction, linked to the attempts it records.
import {
  context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Clock } from '../clock.js';
import type { AttemptEnd, AttemptObservation, DeliveryObserver } from '../delivery/observer.js';
import type { Logger } from '../log.js';
import type { FiredSlot } from '../scheduler/planner.js';
import type { ReminderObserver } from '../scheduler/scheduler.js';
import type { Db } from '../store/db.js';
import type { AttemptResult, ClaimedDelivery } from '../store/deliveries/types.js';
import type { PublishInput, PublishOutcome } from '../store/events.js';
import type { TidingsMetrics } from './metrics.js';
import { formatTraceparent, parseTraceparent } from './traceparent.js';

export interface ObserverOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics?: TidingsMetrics;
  tracing: boolean;
  version: string;
}

/** Span contexts waiting to be used, by delivery id; dropped wholesale if they pile up (a crash mid-batch). */
class Pending<T> {
  private readonly map = new Map<number, T>();
  set(id: number, v: T): void {
    if (this.map.size > 100_000) this.map.clear();
    this.map.set(id, v);
  }
  take(id: number): T | undefined {
    const v = this.map.get(id);
    if (v !== undefined) this.map.delete(id);
    return v;
  }
}

const NOOP_SPAN_RUN = <T>(run: () => Promise<T>) => run();

export class Observer implements DeliveryObserver, ReminderObserver {
  private readonly tracer: Tracer | undefined;
  private readonly m: TidingsMetrics | undefined;
  private readonly publishSpans = new WeakMap<PublishInput, Span>();
  /** From the claim to the attempt: the claim's span (parent) and the publish's (link). */
  private readonly claimed = new Pending<{ claim: SpanContext; publish: SpanContext | undefined }>();
  /** From the attempt to the ack: the attempt's span (link). */
  private readonly attempted = new Pending<SpanContext>();

  constructor(private readonly o: ObserverOptions) {
    this.m = o.metrics;
    this.tracer = o.tracing ? trace.getTracer('tidings', o.version) : undefined;
  }

  publish(input: PublishInput, run: () => Promise<PublishOutcome>): Promise<PublishOutcome> {
    if (!this.tracer) return run();
    const span = this.tracer.startSpan('tidings.publish', {
      kind: SpanKind.PRODUCER,
      attributes: {
        'tidings.event_id': input.id,
        'tidings.event_type': input.type,
        'tidings.tenant_id': input.tenantId,
      },
    });
    this.publishSpans.set(input, span);
    return context.with(trace.setSpan(context.active(), span), run).then(
      (outcome) => {
        span.setAttribute('tidings.outcome', outcome.kind);
        if (outcome.kind === 'created' || outcome.kind === 'duplicate')
          span.setAttribute('tidings.deliveries', outcome.deliveries);
        span.end();
        return outcome;
      },
      (err: unknown) => {
        fail(span, err);
        throw err;
      },
    );
  }

  async publishBatch<T extends { outcomes: PublishOutcome[] }>(
    inputs: readonly PublishInput[],
    write: () => Promise<T>,
  ): Promise<T> {
    const result = await this.span(
      'tidings.publish.batch',
      { 'tidings.batch_size': inputs.length },
      () => inputs.flatMap((i) => link(this.publishSpans.get(i)?.spanContext())),
      write,
    );
    const m = this.m;
    if (m) {
      for (const [i, outcome] of result.outcomes.entries()) {
        const input = inputs[i];
        if (!input || outcome.kind !== 'created') continue;
        m.eventsPublished.inc(m.typeLabel(input.type, input.tenantId));
        if (outcome.deliveries > 0) m.deliveriesCreated.inc(outcome.deliveries);
      }
    }
    return result;
  }

  traceContext(input: PublishInput): string | null {
    if (!this.tracer) return null;
    const sc = this.publishSpans.get(input)?.spanContext();
    return sc ? formatTraceparent(sc) : null;
  }

  async claim(limit: number, run: () => Promise<ClaimedDelivery[]>): Promise<ClaimedDelivery[]> {
    const startTime = this.tracer ? new Date() : undefined;
    const claimed = await run();
    this.m?.claimBatchSize.observe(claimed.length);
    // A claim that found nothing (an idle poll, every poll interval) makes no span: traces
    // show work, not waiting. So the span is opened once the claim is known, back-dated to
    // its start (its statement is not a pg span below it). Each delivery's publish comes with
    // the claim: the claim returns its event's stored trace context.
    if (!this.tracer || !startTime || claimed.length === 0) return claimed;
    const span = this.tracer.startSpan('tidings.claim', {
      root: true,
      startTime,
      attributes: { 'tidings.limit': limit, 'tidings.batch_size': claimed.length },
    });
    const publishes = this.publishContexts(claimed);
    span.addLinks([...new Set(publishes.values())].flatMap((sc) => link(sc)));
    for (const d of claimed)
      this.claimed.set(d.id, { claim: span.spanContext(), publish: publishes.get(d.id) });
    span.end();
    return claimed;
  }

  /** The publish span of each claimed delivery's event: the claim returns its stored trace context. */
  private publishContexts(claimed: ClaimedDelivery[]): Map<number, SpanContext> {
    const out = new Map<number, SpanContext>();
    for (const d of claimed) {
      const sc = parseTraceparent(d.trace_context);
      if (sc) out.set(d.id, sc);
    }
    return out;
  }

  attempt(d: ClaimedDelivery, attempt: number): AttemptObservation {
    let span: Span | undefined;
    let run: AttemptObservation['run'] = NOOP_SPAN_RUN;
    if (this.tracer) {
      const from = this.claimed.take(d.id);
      const parent = from ? trace.setSpanContext(ROOT_CONTEXT, from.claim) : ROOT_CONTEXT;
      const started = this.tracer.startSpan(
        'tidings.attempt',
        {
          kind: SpanKind.CLIENT,
          links: link(from?.publish),
          attributes: {
            'tidings.delivery_id': d.id,
            'tidings.endpoint_id': d.endpoint_id,
            'tidings.event_id': d.event_id,
            'tidings.event_type': d.event_type,
            'tidings.tenant_id': d.tenant_id,
            'tidings.attempt': attempt,
          },
        },
        parent,
      );
      span = started;
      const ctx = trace.setSpan(parent, started);
      run = (send) => context.with(ctx, send);
    }
    return {
      run,
      end: (e: AttemptEnd) => {
        this.countAttempt(d, e);
        if (!span) return;
        if (e.status !== null) span.setAttribute('http.response.status_code', e.status);
        span.setAttribute('tidings.duration_ms', e.durationMs);
        span.setAttribute('tidings.next', e.next);
        if (e.next !== 'succeeded')
          span.setStatus({ code: SpanStatusCode.ERROR, message: e.error ?? `HTTP ${e.status}` });
        span.end();
        this.attempted.set(d.id, span.spanContext());
      },
    };
  }

  private countAttempt(d: ClaimedDelivery, e: AttemptEnd): void {
    const m = this.m;
    if (!m) return;
    const tenant = m.tenant(d.tenant_id);
    const result = e.next === 'succeeded' ? 'success' : 'failure';
    m.attempts.inc({ result, ...tenant });
    m.attemptDuration.observe({ result }, e.durationMs / 1000);
    if (e.next === 'retry') return;
    m.deliveriesCompleted.inc({ state: e.next, ...tenant });
    if (e.next === 'succeeded') {
      const published = new Date(d.event_created_at).getTime();
      m.publishToDelivery.observe(Math.max(0, this.o.clock.now().getTime() - published) / 1000);
    }
  }

  ack<T>(results: readonly AttemptResult[], run: () => Promise<T>): Promise<T> {
    this.m?.ackBatchSize.observe(results.length);
    if (!this.tracer) return run();
    const links = () => results.flatMap((r) => link(this.attempted.take(r.deliveryId)));
    return this.span('tidings.ack', { 'tidings.batch_size': results.length }, links, run);
  }

  /** Deliveries given up on by hand (the skip route). */
  cancelled(tenantId: string): void {
    this.m?.deliveriesCompleted.inc({ state: 'cancelled', ...this.m.tenant(tenantId) });
  }

  /** Reminders fired by the scheduler: published events, created deliveries, fire lag. */
  fired(slots: readonly FiredSlot[], deliveries: number, firedAt: Date): void {
    const m = this.m;
    if (!m) return;
    for (const s of slots) {
      m.eventsPublished.inc(m.typeLabel(s.event_type, s.tenant_id));
      m.reminderFireLag.observe(Math.max(0, firedAt.getTime() - new Date(s.due_at).getTime()) / 1000);
    }
    m.remindersFired.inc(slots.length);
    if (deliveries > 0) m.deliveriesCreated.inc(deliveries);
  }

  /** A root span around run (the pg spans of run become its children); just run when not tracing. */
  private async span<T>(
    name: string,
    attributes: Record<string, number>,
    links: () => Link[],
    run: () => Promise<T>,
  ): Promise<T> {
    if (!this.tracer) return run();
    const span = this.tracer.startSpan(name, { root: true, attributes, links: links() });
    try {
      const r = await context.with(trace.setSpan(ROOT_CONTEXT, span), run);
      span.end();
      return r;
    } catch (err) {
      fail(span, err);
      throw err;
    }
  }
}

function link(sc: SpanContext | undefined): Link[] {
  return sc ? [{ context: sc }] : [];
}

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
  span.end();
}
