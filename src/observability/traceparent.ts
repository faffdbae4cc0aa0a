// W3C trace context (traceparent) text for a span context, and back: how a publish's span is
// stored with its event (events.trace_context) for the attempts to link to.
import { isSpanContextValid, type SpanContext } from '@opentelemetry/api';

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

export function parseTraceparent(text: string | null | undefined): SpanContext | undefined {
  const m = text ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(text) : null;
  if (!m) return undefined;
  const sc: SpanContext = {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}
