// Lets the CLI flush the spans still in the exporter's batch before it exits, without
// loading the SDK itself (tracing.ts registers its shutdown here when it starts).
let shutdown: (() => Promise<void>) | undefined;

export function onTracingShutdown(fn: () => Promise<void>): void {
  shutdown = fn;
}

/** Sends what is left and stops tracing; nothing when tracing is off. */
export async function shutdownTracing(): Promise<void> {
  await shutdown?.();
}
