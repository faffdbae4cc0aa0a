// Whether each role's loop is making progress, for /readyz. A loop reports every round: a
// success (work done, or none due) or a failure (the round threw). One that has failed
// continuously for longer than TIDINGS_LOOP_FAILING_AFTER makes /readyz answer 503 naming
// its role (issue 13: every claim threw for hours while /healthz and /readyz stayed green).
// Wall-clock time on purpose: this is about the process, not the business clock tests move.

export interface LoopState {
  role: string;
  /** First failure of the current streak; null while the loop succeeds. */
  failingSince: number | null;
  /** Failed rounds in the current streak. */
  failures: number;
  lastSuccessAt: number | null;
}

export class LoopHealth {
  private readonly loops = new Map<string, LoopState>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A round of `role`'s loop went through (whether or not it found work). */
  ok(role: string): void {
    const s = this.state(role);
    s.failingSince = null;
    s.failures = 0;
    s.lastSuccessAt = this.now();
  }

  /** A round of `role`'s loop threw. */
  failed(role: string): void {
    const s = this.state(role);
    s.failingSince ??= this.now();
    s.failures += 1;
  }

  /** Loops that have failed without a success for longer than `thresholdMs`. */
  failing(thresholdMs: number): (LoopState & { failingForMs: number })[] {
    const now = this.now();
    return this.list()
      .filter((s) => s.failingSince !== null && now - s.failingSince > thresholdMs)
      .map((s) => ({ ...s, failingForMs: now - (s.failingSince ?? now) }));
  }

  /** Every loop that has reported, by role. */
  list(): LoopState[] {
    return [...this.loops.values()].map((s) => ({ ...s }));
  }

  private state(role: string): LoopState {
    let s = this.loops.get(role);
    if (!s) {
      s = { role, failingSince: null, failures: 0, lastSuccessAt: null };
      this.loops.set(role, s);
    }
    return s;
  }
}
