// The embedded engine: PostgreSQL compiled to WebAssembly, in this process, data in a folder.
// PGlite runs on a worker thread of its own (pgliteThread.ts), so that its statements, which
// cost as much CPU as the rest of a delivery, run beside the event loop instead of stopping
// it: the service serves requests and sends while the engine works. It has one connection;
// concurrent callers share it through PGlite's own queue, and a transaction holds it
// exclusively until it ends.
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Db, Queryable, Sql } from './db.js';
import { fromWire, type PgliteReply, type PgliteRequest, type PgliteThreadData } from './pgliteWire.js';

/**
 * Starts the thread's module. From the TypeScript sources (tests, `npm run dev`) the thread
 * needs tsx's loader too: a worker thread has module hooks of its own.
 */
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})();
`;

type Request = PgliteRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export async function openPglite(dataDir: string | undefined): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const sources = import.meta.url.endsWith('.ts');
  const entry = new URL(sources ? './pgliteThread.ts' : './pgliteThread.js', import.meta.url).href;
  const tsx = sources ? tsxEsmApi() : undefined;
  const data: PgliteThreadData & { entry: string; tsx?: string } = { entry, ...(tsx ? { tsx } : {}) };
  if (dataDir) data.dataDir = dataDir;
  const worker = new Worker(BOOT, { eval: true, workerData: data });

  const waiting = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let stopped: Error | undefined;
  const started = new Promise<void>((resolve, reject) =>
    waiting.set(0, { resolve: () => resolve(), reject }),
  );
  worker.on('message', (r: PgliteReply) => {
    const w = waiting.get(r.id);
    if (!w) return;
    waiting.delete(r.id);
    // The thread keeps the process alive only while a statement is waiting for it.
    if (waiting.size === 0) worker.unref();
    if (r.error) w.reject(fromWire(r.error));
    else w.resolve(r.rows ?? []);
  });
  const stop = (err: Error) => {
    stopped ??= err;
    for (const w of waiting.values()) w.reject(stopped);
    waiting.clear();
  };
  worker.on('error', (err) =>
    stop(Object.assign(new Error(`PGlite's thread failed: ${err.message}`), { cause: err })),
  );
  let closing = false;
  let ready = false;
  worker.on('exit', (code) => {
    stop(new Error(`PGlite's thread stopped (exit code ${code})`));
    // The store is gone for good (the thread ran out of memory, say): nothing this process
    // does can succeed without it, so it ends as a crash, and a supervisor starts it again on
    // the same data folder. Every committed write is there; unacknowledged work is redone.
    if (!closing && ready) {
      setImmediate(() => {
        throw stopped;
      });
    }
  });

  const call = <T>(req: Request, id = nextId++): Promise<T[]> => {
    if (stopped) return Promise.reject(stopped);
    if (waiting.size === 0) worker.ref();
    return new Promise<T[]>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
      worker.postMessage({
        ...req,
        id,
        ...('params' in req && req.params ? { params: req.params.map(own) } : {}),
      });
    });
  };
  await started.catch(async (err) => {
    closing = true;
    await worker.terminate();
    throw err;
  });
  ready = true;
  worker.unref();

  const on = (tx?: number): Queryable => ({
    query<T extends object>(sql: Sql, params?: unknown[]) {
      const at = tx === undefined ? {} : { tx };
      return typeof sql === 'string'
        ? call<T>({ op: 'query', text: sql, ...(params ? { params } : {}), ...at })
        : call<T>({
            op: 'named',
            name: sql.name,
            text: sql.text,
            ...(sql.plan ? { plan: sql.plan } : {}),
            params: params ?? [],
            ...at,
          });
    },
    async exec(sql: string) {
      await call({ op: 'exec', text: sql, ...(tx === undefined ? {} : { tx }) });
    },
  });

  // Notifications stay inside the process: PGlite has no other connections to reach.
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const base = on();
  return {
    engine: 'pglite',
    query: base.query,
    exec: base.exec,
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      // The begin request's id names the transaction.
      const tx = nextId++;
      await call({ op: 'begin' }, tx);
      let result: T;
      try {
        result = await fn(on(tx));
      } catch (err) {
        // The caller's error is the one to see, whether or not the rollback reached the thread.
        await call({ op: 'end', tx, commit: false }).catch(() => undefined);
        throw err;
      }
      await call({ op: 'end', tx, commit: true });
      return result;
    },
    async listen(channel, fn) {
      bus.on(channel, fn);
      return async () => {
        bus.off(channel, fn);
      };
    },
    async notify(channel, payload = '') {
      bus.emit(channel, payload);
    },
    async close() {
      closing = true;
      bus.removeAllListeners();
      if (!stopped) await call({ op: 'close' });
      await worker.terminate();
    },
  };
}

/** tsx's ESM register() (its `tsx/esm/api` export for import; the require one differs). */
function tsxEsmApi(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return new URL(
    pkg.exports['./esm/api']?.import.default ?? './dist/esm/api/index.mjs',
    pathToFileURL(pkgPath),
  ).href;
}

/**
 * A byte array that is a window on a larger buffer (a Buffer from Node's shared pool) is
 * copied: a clone carries the whole buffer under a view.
 */
function own(v: unknown): unknown {
  return ArrayBuffer.isView(v) && v.byteLength !== v.buffer.byteLength
    ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice()
    : v;
}
