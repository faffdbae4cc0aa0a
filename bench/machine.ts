// The machine a run measured, written at the top of every results file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { REPO_DIR } from './ipc.js';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  pglite: string;
  pgBoss: string;
  undici: string;
  commit: string;
  /** Files under src/ that differ from the commit when the run started (the tree is shared). */
  srcChanges: number;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAtStart: number;
}

function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(
      readFileSync(path.join(REPO_DIR, 'node_modules', name, 'package.json'), 'utf8'),
    ) as {
      version?: string;
    };
    return pkg.version ?? '?';
  } catch {
    return 'not installed';
  }
}

/** The server's version, or why there is none. */
export async function postgresVersion(url: string): Promise<{ ok: boolean; version: string }> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const r = await c.query<{ server_version: string }>('SHOW server_version');
    return { ok: true, version: `PostgreSQL ${r.rows[0]?.server_version ?? '?'}` };
  } catch (err) {
    return { ok: false, version: `not reachable (${(err as Error).message})` };
  } finally {
    await c.end().catch(() => {});
  }
}

export async function describeMachine(databaseUrl: string): Promise<Machine> {
  let commit = '?';
  let srcChanges = 0;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_DIR,
      encoding: 'utf8',
    }).trim();
    srcChanges = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: REPO_DIR,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean).length;
  } catch {
    // Not a git checkout.
  }
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: (await postgresVersion(databaseUrl)).version,
    pglite: packageVersion('@electric-sql/pglite'),
    pgBoss: packageVersion('pg-boss'),
    undici: packageVersion('undici'),
    commit,
    srcChanges,
    loadAtStart: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}
