// A whole Tidings (api + worker) in the test process, on a fresh database of either engine,
// listening on 127.0.0.1 at a free port, with a client for its API.
import { type StartOptions, startTidings, type Tidings } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { type Engine, freshDb, type TestDb } from './engines.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestApp {
  tidings: Tidings;
  testDb: TestDb;
  url: string;
  /** Calls the API with the admin token (or `token`); the body is JSON. */
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    opts?: { token?: string | null; headers?: Record<string, string>; rawBody?: string },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startApp(
  engine: Engine,
  env: Record<string, string> = {},
  opts: StartOptions & { roles?: string } = {},
): Promise<TestApp> {
  const testDb = await freshDb(engine);
  const config = loadConfig(
    {
      TIDINGS_PORT: '0',
      TIDINGS_HOST: '127.0.0.1',
      TIDINGS_ADMIN_TOKEN: ADMIN_TOKEN,
      TIDINGS_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
      TIDINGS_RETRY_SCHEDULE: '100ms,200ms,300ms',
      TIDINGS_REQUEST_TIMEOUT_MS: '5000',
      TIDINGS_POLL_INTERVAL_MS: '100',
      TIDINGS_LOG_LEVEL: process.env.TIDINGS_TEST_LOG_LEVEL ?? 'silent',
      ...env,
    },
    { roles: opts.roles ?? 'api,worker' },
  );
  const tidings = await startTidings(config, { log: createLogger(config.logLevel), ...opts, db: testDb.db });
  const url = tidings.url ?? '';
  return {
    tidings,
    testDb,
    url,
    async api(method, path, body, o = {}) {
      const token = o.token === undefined ? ADMIN_TOKEN : o.token;
      const headers: Record<string, string> = { ...o.headers };
      if (token) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined = o.rawBody;
      if (payload === undefined && body !== undefined) payload = JSON.stringify(body);
      if (payload !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(url + path, { method, headers, body: payload });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: leave as text
      }
      return { status: res.status, body: parsed as never, headers: res.headers };
    },
    async stop() {
      await tidings.stop();
      await testDb.drop();
    },
  };
}
