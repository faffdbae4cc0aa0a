// Everything one run measured, keyed by system: the references `ceiling` (raw signed sender),
// `pipeline` (store-less ingest + in-memory queue + the same sender), `floor` (the least a
// PostgreSQL design can do), `baseline` (pg-boss), then `tidings:pg` and `tidings:pglite`. The
// references run once and appear in every engine's file.
import type { CpuUse } from './procStats.js';
import type { Percentiles } from './stats.js';

export type SystemKey = 'ceiling' | 'pipeline' | 'floor' | 'baseline' | 'tidings:pg' | 'tidings:pglite';

/** The reference systems, in the order the tables show them (Tidings is compared to each). */
export const REFERENCES = [
  'ceiling',
  'pipeline',
  'floor',
  'baseline',
] as const satisfies readonly SystemKey[];
export type ReferenceKey = (typeof REFERENCES)[number];

export interface Figure {
  scenario: string;
  metric: string;
  unit: string;
  /** Whether a bigger number is better (throughput) or worse (latency, memory). */
  higherIsBetter: boolean;
  values: Partial<Record<SystemKey, number>>;
  /** Why a system has no figure here (not applicable, not available, failed). */
  missing: Partial<Record<SystemKey, string>>;
}

export interface BacklogSample {
  /** Seconds since the drain started. */
  t: number;
  delivered: number;
  /** Deliveries per second over the last interval. */
  rate: number;
  rssMb: number;
}

/** The statements one system sent during one run, counted from the server log. */
export interface StatementRecord {
  system: SystemKey;
  run: string;
  delivered: number;
  total: number;
  byName: Record<string, number>;
}

/** One scale-out run: one api process and `workers` worker processes on one PostgreSQL. */
export interface ScaleOutRun {
  workers: number;
  delivered: number;
  perSecond: number;
  /** CPU µs per delivery: the api process, all worker processes, all PostgreSQL processes. */
  apiUs: number;
  workersUs: number;
  postgresUs: number;
  machineBusy: number;
}

export class Results {
  readonly figures: Figure[] = [];
  readonly cpu: { system: SystemKey; scenario: string; use: CpuUse }[] = [];
  readonly notes: { system: SystemKey | 'all'; scenario: string; text: string }[] = [];
  readonly latency = new Map<SystemKey, { sorted: Float64Array; pct: Percentiles; rate: number }>();
  readonly backlog = new Map<SystemKey, BacklogSample[]>();
  readonly errors: { system: SystemKey; scenario: string; message: string }[] = [];
  readonly statements: StatementRecord[] = [];
  readonly scaleOut = new Map<SystemKey, ScaleOutRun[]>();

  private figure(scenario: string, metric: string, unit: string, higherIsBetter: boolean): Figure {
    let f = this.figures.find((x) => x.scenario === scenario && x.metric === metric);
    if (!f) {
      f = { scenario, metric, unit, higherIsBetter, values: {}, missing: {} };
      this.figures.push(f);
    }
    return f;
  }

  set(
    system: SystemKey,
    scenario: string,
    metric: string,
    value: number,
    unit: string,
    higherIsBetter = true,
  ): void {
    const f = this.figure(scenario, metric, unit, higherIsBetter);
    f.values[system] = value;
    delete f.missing[system];
  }

  /** Records that a figure does not exist for a system, and why (shown in the table). */
  absent(
    system: SystemKey,
    scenario: string,
    metric: string,
    unit: string,
    why: string,
    higherIsBetter = true,
  ): void {
    const f = this.figure(scenario, metric, unit, higherIsBetter);
    if (f.values[system] === undefined) f.missing[system] = why;
  }

  note(system: SystemKey | 'all', scenario: string, text: string): void {
    this.notes.push({ system, scenario, text });
  }

  value(system: SystemKey, scenario: string, metric: string): number | undefined {
    return this.figures.find((x) => x.scenario === scenario && x.metric === metric)?.values[system];
  }

  get figureCount(): number {
    return this.figures.reduce((n, f) => n + Object.keys(f.values).length, 0);
  }
}
