// Tidings as a real child process (`node bin/tidings.js serve …`), to kill and restart. It runs
// the TypeScript sources: vitest sets TIDINGS_DEV=1 (vitest.config.ts), never a stale dist/.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/tidings.js', import.meta.url));

export interface Child {
  proc: ChildProcess;
  output: () => string;
  /** Resolves when a line matching re has been printed. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnTidings(args: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, TIDINGS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners: (() => void)[] = [];
  const onData = (b: Buffer) => {
    out += b.toString();
    for (const l of [...listeners]) l();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    output: () => out,
    waitForOutput(re, timeoutMs = 60_000) {
      if (re.test(out)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${re} in output:\n${out.slice(-3000)}`)),
          timeoutMs,
        );
        const check = () => {
          if (re.test(out)) {
            clearTimeout(timer);
            listeners.splice(listeners.indexOf(check), 1);
            resolve();
          }
        };
        listeners.push(check);
        proc.once('exit', () => {
          if (!re.test(out)) {
            clearTimeout(timer);
            reject(new Error(`process exited before ${re}:\n${out.slice(-3000)}`));
          }
        });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
}
