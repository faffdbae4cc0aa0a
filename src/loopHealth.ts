// Whether each role's loop is making progress, for /readyz (issue 13: every claim threw for
// hours while /readyz stayed green). Two ways in:
// - a loop reports each round (ok, failed): the scheduler's batch loop;
// - a loop keeps its own status and is watched: the worker keeps `status.claim` and
//   `status.ack` ({failingSince}), read here when /readyz asks.
// One that has failed continuously for longer than TIDINGS_LOOP_FAILING_AFTER makes /readyz
// answer 503, naming the role.
import { type Clock, systemClock } from './clock.js';

/** What a watched loop tells: since when it has failed without a success (null: it has not). */
export interface LoopProbe {
  failingSince: Date | null;
}

export interface LoopState {
  role: string;
  /** The part of the role that fails ("claim", "ack"), for a watched loop. */
  part?: string;
  /** First failure of the current streak (ms since epoch); null while the loop succeeds. */
  failingSince: number | null;
  /** Failed rounds in the current streak, where the loop reports them. */
  failures?: number;
}

interface Watched {
  probe: () => Record<string, LoopProbe>;
  clock: Clock;
}

export class LoopHealth {
  private readonly reported = new Map<string, { failingSince: number | null; failures: number }>();
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A round of `role`'s loop went through (whether or not it found work). */
  ok(role: string): void {
    this.reported.set(role, { failingSince: null, failures: 0 });
  }

  /** A round of `role`'s loop threw. */
  failed(role: string): void {
    const s = this.reported.get(role) ?? { failingSince: null, failures: 0 };
    this.reported.set(role, { failingSince: s.failingSince ?? this.now(), failures: s.failures + 1 });
  }

  /** Reads a loop's own status (by part) whenever readiness is asked; its times are on `clock`. */
  watch(role: string, probe: () => Record<string, LoopProbe>, clock: Clock = systemClock): void {
    this.watched.set(role, { probe, clock });
  }

  /** Loops that have failed without a success for longer than `thresholdMs`. */
  failing(thresholdMs: number): (LoopState & { failingForMs: number })[] {
    const out: (LoopState & { failingForMs: number })[] = [];
    for (const [role, s] of this.reported) {
      if (s.failingSince === null) continue;
      const failingForMs = this.now() - s.failingSince;
      if (failingForMs > thresholdMs) out.push({ role, ...s, failingForMs });
    }
    for (const [role, w] of this.watched) {
      const now = w.clock.now().getTime();
      for (const [part, p] of Object.entries(w.probe())) {
        if (!p.failingSince) continue;
        const failingForMs = now - p.failingSince.getTime();
        if (failingForMs > thresholdMs) {
          out.push({ role, part, failingSince: p.failingSince.getTime(), failingForMs });
        }
      }
    }
    return out;
  }

  /** Every loop known, by role: whether it is failing right now (however briefly). */
  list(): { role: string; failing: boolean }[] {
    const out = [...this.reported].map(([role, s]) => ({ role, failing: s.failingSince !== null }));
    for (const [role, w] of this.watched) {
      out.push({ role, failing: Object.values(w.probe()).some((p) => p.failingSince !== null) });
    }
    return out;
  }
}
