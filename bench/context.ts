// What every scenario gets: the options, the helper processes that are not under test, the
// results being gathered, and a way to measure the CPU of one (scenario, system) run.
import type { Helper } from './ipc.js';
import type { Options, Sizes } from './options.js';
import { type CpuSnapshot, type CpuUse, cpuBetween, snapshot } from './procStats.js';
import type { Results, SystemKey } from './results.js';

export interface Ctx {
  opts: Options;
  sizes: Sizes;
  results: Results;
  receiver: Helper;
  load: Helper;
  ceiling: Helper;
  receiverOrigin: string;
  /** The PostgreSQL server's log file (statements are counted from it). */
  serverLog: string;
  /** Why this run counts no statements (--no-statements, no superuser, log not readable). */
  statementsOff: string | undefined;
  log(message: string): void;
}

/**
 * CPU accounting for one run: the harness's own processes beside the system under test (one
 * process, or several: the scale-out run's api and workers, summed as "sut").
 */
export class CpuMeter {
  private readonly start: CpuSnapshot;
  private readonly startPids: Record<string, number>;

  constructor(
    private readonly ctx: Ctx,
    private readonly sut: () => number | number[],
  ) {
    this.startPids = this.pids();
    this.start = snapshot(this.startPids);
  }

  private pids(): Record<string, number> {
    const sut = this.sut();
    const list = Array.isArray(sut) ? sut : [sut];
    return {
      harness: process.pid,
      receiver: this.ctx.receiver.pid,
      load: this.ctx.load.pid,
      ...Object.fromEntries(list.map((pid, i) => [i === 0 ? 'sut' : `sut${i}`, pid])),
    };
  }

  /** CPU used since construction (read it while the system under test is still running). */
  measure(): CpuUse {
    const now = this.pids();
    // A role now played by another process (the backlog's worker replacing the api) started
    // after the first reading: all it used counts.
    const byRole = { ...this.start.byRole };
    for (const role of Object.keys(now)) if (now[role] !== this.startPids[role]) byRole[role] = 0;
    const use = cpuBetween({ ...this.start, byRole }, snapshot(now));
    const parts = Object.keys(use.seconds).filter((k) => /^sut\d+$/.test(k));
    if (parts.length) {
      // Per process under "sut0", "sut1", …; their sum under "sut".
      const s = use.seconds;
      s.sut0 = s.sut ?? 0;
      s.sut = Math.round((s.sut0 + parts.reduce((a, k) => a + (s[k] ?? 0), 0)) * 100) / 100;
    }
    return use;
  }

  /** Records CPU used since construction, or a reading taken earlier. */
  record(system: SystemKey, scenario: string, use: CpuUse = this.measure()): void {
    this.ctx.results.cpu.push({ system, scenario, use });
  }
}
