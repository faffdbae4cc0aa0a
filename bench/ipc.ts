// Request/response over the child_process IPC channel, so the harness can drive its helper
// processes (receiver, load generator, ceiling sender, pg-boss baseline) without sharing an
// event loop with them. Messages use the 'advanced' serialization (structured clone), which
// carries large number arrays far more cheaply than JSON.
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Request {
  rpc: number;
  cmd: string;
  args: unknown;
}
interface Response {
  rpc: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export type Handlers = Record<string, (args: never) => unknown>;

/** Child side: answers the harness's calls with the given handlers. */
export function serve(handlers: Handlers): void {
  process.on('message', (msg: Request) => {
    if (typeof msg !== 'object' || msg === null || typeof msg.rpc !== 'number') return;
    const handler = handlers[msg.cmd];
    const reply = (r: Omit<Response, 'rpc'>) => process.send?.({ rpc: msg.rpc, ...r });
    if (!handler) {
      reply({ ok: false, error: `unknown command ${msg.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(msg.args as never))
      .then(
        (result) => reply({ ok: true, result }),
        (err: unknown) =>
          reply({ ok: false, error: err instanceof Error ? err.stack || err.message : String(err) }),
      );
  });
  // The harness going away must take its helpers with it.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true });
}

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = path.resolve(BENCH_DIR, '..');

/** Harness side: a helper process and a typed way to call it. */
export class Helper {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (msg: Response) => {
      if (typeof msg !== 'object' || msg === null || typeof msg.rpc !== 'number') return;
      const w = this.waiting.get(msg.rpc);
      if (!w) return;
      this.waiting.delete(msg.rpc);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new Error(`${name}: ${msg.error}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`${name} exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Starts bench/<file> under tsx and waits for it to say it is ready. */
  static async start(file: string, env: Record<string, string> = {}): Promise<Helper> {
    const child = fork(path.join(BENCH_DIR, file), [], {
      cwd: REPO_DIR,
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: unknown) => {
        if (typeof m === 'object' && m !== null && (m as { ready?: boolean }).ready) {
          child.off('message', onMsg);
          resolve();
        }
      };
      child.on('message', onMsg);
      child.once('exit', (code) => reject(new Error(`${file} exited before it was ready (${code})`)));
    });
    return new Helper(file, child);
  }

  call<T>(cmd: string, args: unknown = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const rpc = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(rpc, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ rpc, cmd, args } satisfies Request);
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
