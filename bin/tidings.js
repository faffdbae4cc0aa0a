#!/usr/bin/env node
// Runs the compiled CLI in dist/ (`npm run build`; `npm ci` builds it through `prepare`).
// TIDINGS_DEV=1 runs the TypeScript sources through tsx instead (`npm run dev`, the tests'
// child processes): never stale, slower to start, tsx needed (a development dependency).
//
// When an OTEL_* variable is set, the OpenTelemetry SDK starts first, before the modules it
// instruments (pg, undici) are loaded.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dev = process.env.TIDINGS_DEV === '1';
const ext = dev ? 'ts' : 'js';
const root = new URL(dev ? '../src/' : '../dist/', import.meta.url);
if (dev) {
  const { register } = await import('tsx/esm/api');
  register();
} else if (!existsSync(fileURLToPath(new URL('cli.js', root)))) {
  console.error(
    'tidings: dist/ is missing: run `npm run build` (npm ci does it), or TIDINGS_DEV=1 for the sources',
  );
  process.exit(1);
}
const { tracingWanted } = await import(new URL(`config.${ext}`, root).href);
if (tracingWanted(process.env)) {
  const { startTracing } = await import(new URL(`observability/tracing.${ext}`, root).href);
  await startTracing();
}
await import(new URL(`cli.${ext}`, root).href);
