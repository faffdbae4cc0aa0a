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
  log(message: string): void;
}

/** CPU accounting for one run: the harness's own processes beside the system under test. */
export class CpuMeter {
  private readonly start: CpuSnapshot;

  constructor(
    private readonly ctx: Ctx,
    private readonly sut: () => number,
  ) {
    this.start = snapshot(this.pids());
  }

  private pids(): Record<string, number> {
    return {
      harness: process.pid,
      receiver: this.ctx.receiver.pid,
      load: this.ctx.load.pid,
      sut: this.sut(),
    };
  }

  /** CPU used since construction (read it while the system under test is still running). */
  measure(): CpuUse {
    return cpuBetween(this.start, snapshot(this.pids()));
  }

  /** Records CPU used since construction, or a reading taken earlier. */
  record(system: SystemKey, scenario: string, use: CpuUse = this.measure()): void {
    this.ctx.results.cpu.push({ system, scenario, use });
  }
}
