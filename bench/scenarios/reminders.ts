// Reminders: N reminders due at the same moment. The measurement itself is the reminders
// workstream's bench/reminders.ts (it seeds anchors through the store an hour ahead, moves the
// clock, and times firing and delivery to its own receiver, with other traffic timed beside the
// burst); this scenario runs it in a child process on a fresh store of the engine under test and
// copies its figures into the table. The ceiling and pg-boss have no per-subject scheduler.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CpuMeter, type Ctx } from '../context.js';
import { REPO_DIR } from '../ipc.js';
import type { SystemKey } from '../results.js';
import { lacking, type Scenario } from './common.js';

const NAME = 'reminders';
const SCRIPT = 'bench/reminders.ts';

interface RemindersResult {
  count: number;
  seededPerSec: number;
  idleClaimMs: number;
  firedPerSec: number;
  deliveredPerSec: number;
  reminderLagMs: { p50: number; p95: number; max: number };
  otherTraffic: { before: { p95: number }; during: { p95: number } };
}

function metric(ctx: Ctx): string {
  return `${ctx.sizes.remindersCount.toLocaleString('en-US')} reminders due at once: fired/s`;
}

function countFor(ctx: Ctx, key: SystemKey): number {
  return key === 'tidings:pglite' ? ctx.sizes.remindersCountPglite : ctx.sizes.remindersCount;
}

async function runScript(ctx: Ctx, key: SystemKey, count: number): Promise<RemindersResult> {
  const args = ['--import', 'tsx', SCRIPT, '--count', String(count)];
  if (key === 'tidings:pg') args.push('--database-url', ctx.opts.databaseUrl);
  const child = spawn(process.execPath, args, { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const cpu = new CpuMeter(ctx, () => child.pid ?? 0);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-4000);
    if (ctx.opts.verbose) process.stderr.write(`[reminders] ${c.toString('utf8')}`);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), ctx.sizes.drainLimitMs);
  // /proc forgets a process once it is reaped: keep the last reading taken while it ran.
  let use = cpu.measure();
  const sampler = setInterval(() => {
    use = cpu.measure();
  }, 500);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(killer);
  clearInterval(sampler);
  cpu.record(key, NAME, use);
  if (code !== 0) throw new Error(`${SCRIPT} exited ${code}: ${err.slice(-1500)}`);
  // The result is printed last, indented (its first line a lone "{"); the service's log lines
  // that may come before it are one-line JSON objects.
  const start = out.search(/^\{$/m);
  if (start < 0) throw new Error(`${SCRIPT} printed no result: ${out.slice(0, 500)}`);
  return JSON.parse(out.slice(start)) as RemindersResult;
}

export const reminders: Scenario = {
  name: NAME,
  async ceiling(ctx) {
    ctx.results.absent('ceiling', NAME, metric(ctx), '/s', 'n/a (no scheduler)');
  },
  async queue(ctx, sys) {
    if (lacking(ctx, sys, NAME, [[metric(ctx), '/s']])) return;
    if (!existsSync(path.join(REPO_DIR, SCRIPT))) {
      ctx.results.absent(sys.key, NAME, metric(ctx), '/s', 'not available: no reminders bench yet');
      return;
    }
    const count = countFor(ctx, sys.key);
    if (count !== ctx.sizes.remindersCount) {
      ctx.results.note(sys.key, NAME, `PGlite: ${count} reminders (PostgreSQL: ${ctx.sizes.remindersCount})`);
    }
    const r = await runScript(ctx, sys.key, count);
    ctx.results.set(sys.key, NAME, metric(ctx), r.firedPerSec, '/s');
    ctx.results.set(sys.key, NAME, 'reminders delivered/s', r.deliveredPerSec, '/s');
    ctx.results.set(sys.key, NAME, 'reminder lateness p95', r.reminderLagMs.p95, 'ms', false);
    ctx.results.set(
      sys.key,
      NAME,
      'other traffic publish → receipt p95 during the burst',
      r.otherTraffic.during.p95,
      'ms',
      false,
    );
    ctx.results.set(sys.key, NAME, 'idle claim with all slots planned', r.idleClaimMs, 'ms', false);
    ctx.results.note(
      sys.key,
      NAME,
      `measured by ${SCRIPT} (Tidings in its own child process with its own receiver; ${sys.key === 'tidings:pg' ? 'a fresh schema' : 'in-memory PGlite'})`,
    );
  },
};
