// The container image, without a Docker engine: the Dockerfile's own steps are played in a
// clean folder (test/helpers/dockerfile.ts): the build stage's COPY and RUN lines (npm ci,
// which builds dist/ through `prepare`, then the prune), the runtime stage's COPY --from
// lines, then its CMD with its ENV, and its HEALTHCHECK command against the running process.
// So `npm ci && npm start` on a fresh copy of the project is shown to work, from dist/.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Played, parseDockerfile, playDockerfile, type Stage } from '../helpers/dockerfile.js';
import { until } from '../helpers/wait.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The environment of a fresh container: no npm_* variables of this test run, no TIDINGS_DEV. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('npm_') || k.startsWith('TIDINGS_') || k.startsWith('OTEL_'))
      continue;
    env[k] = v;
  }
  return env;
}

describe('the Dockerfile, played in a clean folder', () => {
  let stages: Stage[];
  let played: Played;
  let scratch: string;
  let proc: ChildProcess | undefined;
  let out = '';

  beforeAll(() => {
    stages = parseDockerfile(readFileSync(path.join(REPO, 'Dockerfile'), 'utf8'));
    scratch = mkdtempSync(path.join(tmpdir(), 'tidings-image-'));
    // RUN lines see a container's environment, not this test run's.
    played = playDockerfile(stages, REPO, scratch, cleanEnv());
  }, 600_000);
  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it('has a build stage and a slim runtime stage run by an unprivileged user, with a data volume', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1)!;
    expect(runtime.base).toMatch(/^node:\d+-.*slim$/);
    expect(runtime.steps.some((s) => s.op === 'RUN')).toBe(false);
    expect(played.user).toBe('node');
    expect(played.volumes).toContain(played.env.TIDINGS_DATA_DIR);
    expect(played.healthcheck?.join(' ')).toContain('/healthz');
    // The runtime has the compiled service and no TypeScript toolchain.
    const app = played.workdir;
    expect(existsSync(path.join(app, 'dist/cli.js'))).toBe(true);
    expect(existsSync(path.join(app, 'dist/store/migrations/001_init.sql'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(path.join(app, 'src'))).toBe(false);
  });

  it('starts with the same command as npm start, and prints its version', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      version: string;
    };
    expect(played.cmd?.join(' ')).toBe(pkg.scripts.start);
    const version = execFileSync(played.cmd![0]!, [played.cmd![1]!, '--version'], {
      cwd: played.workdir,
      env: cleanEnv(),
    });
    expect(version.toString().trim()).toBe(pkg.version);
  });

  it('runs its CMD with its ENV from dist/, and its HEALTHCHECK passes', async () => {
    const root = played.roots.get(stages.at(-1)!.name)!;
    // As `docker run -e`: ports free on this machine, loopback only; the data dir in the volume.
    const env: Record<string, string> = {
      ...cleanEnv(),
      ...played.env,
      TIDINGS_DATA_DIR: path.join(root, played.env.TIDINGS_DATA_DIR!),
      TIDINGS_HOST: '127.0.0.1',
      TIDINGS_OPS_HOST: '127.0.0.1',
      TIDINGS_PORT: String(await freePort()),
      TIDINGS_OPS_PORT: String(await freePort()),
      TIDINGS_ADMIN_TOKEN: 'image-test-admin-token-0123',
    };
    const [cmd, ...args] = played.cmd!;
    proc = spawn(cmd!, args, { cwd: played.workdir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    proc.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    await until(
      () => out.includes('"tidings started"') || proc!.exitCode !== null,
      'the start line',
      120_000,
    );
    expect(out).toContain('"tidings started"');
    // JSON logs in a container (TIDINGS_LOG_FORMAT=json), from the compiled code.
    const started = JSON.parse(out.split('\n').find((l) => l.includes('"tidings started"'))!) as {
      store: string;
    };
    expect(started.store).toBe(`pglite:${env.TIDINGS_DATA_DIR}`);
    expect(existsSync(path.join(env.TIDINGS_DATA_DIR!, 'PG_VERSION'))).toBe(true);

    const [hc, ...hcArgs] = played.healthcheck!;
    expect(() => execFileSync(hc!, hcArgs, { cwd: played.workdir, env })).not.toThrow();
    const ready = await fetch(`http://127.0.0.1:${env.TIDINGS_OPS_PORT}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await fetch(`http://127.0.0.1:${env.TIDINGS_OPS_PORT}/metrics`);
    expect(await metrics.text()).toContain('tidings_build_info');
    const api = await fetch(`http://127.0.0.1:${env.TIDINGS_PORT}/v1/tenants`, {
      headers: { authorization: `Bearer ${env.TIDINGS_ADMIN_TOKEN}` },
    });
    expect(api.status).toBe(200);

    // The HEALTHCHECK fails once the process is gone.
    proc.kill('SIGTERM');
    await new Promise((r) => proc!.once('exit', r));
    expect(() => execFileSync(hc!, hcArgs, { cwd: played.workdir, env, stdio: 'pipe' })).toThrow();
    // A fresh embedded store is initialised on the first start: slow on a busy machine.
  }, 180_000);
});
