// OpenTelemetry tracing with the official Node SDK, configured by the standard OTEL_*
// variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
// OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_RESOURCE_ATTRIBUTES, …). bin/tidings.js
// starts it before anything else is loaded, and only when an OTEL_* variable is set
// (config.ts tracingWanted), so pg and undici are instrumented from their first use and a
// deployment without OTEL_* variables does not even load the SDK.
//
// Traces only: metrics are Prometheus' (/metrics) and logs are pino's, so the SDK's metric
// and log exporters default to none here (set OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER to
// have them anyway).
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { onTracingShutdown } from './tracingShutdown.js';

export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<() => Promise<void>> {
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: 'tidings' }),
    instrumentations: [
      // requireParentSpan: only statements of a traced operation (publish, claim, ack, …),
      // not every health probe and metrics query.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  sdk.start();
  // Spans still in the batch are sent before the process exits (the CLI's SIGTERM/SIGINT).
  const shutdown = () => sdk.shutdown().catch(() => {});
  onTracingShutdown(shutdown);
  return shutdown;
}
