// The benchmark harness, run end to end in --quick mode on tiny sizes so the bench code cannot
// rot. It checks that every system (the four references and Tidings) produced figures and that
// the results files were written; it never looks at how fast anything was.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');

interface Figure {
  scenario: string;
  metric: string;
  values: Record<string, number>;
}
interface ResultsJson {
  quick: boolean;
  figures: Figure[];
  errors: { system: string; scenario: string; message: string }[];
  cpu: { system: string; scenario: string }[];
  statements: { system: string; run: string; delivered: number; total: number }[];
  scaleOut: Record<string, { workers: number; perSecond: number }[]>;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', ...args],
      { cwd: REPO, env: { ...process.env, ...env }, maxBuffer: 32 * 1024 * 1024, timeout: 290_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, out: stdout, err: stderr });
      },
    );
  });
}

const out = mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('bench/run.ts --quick', () => {
  it('measures the references and Tidings and writes the results file', async () => {
    const pgUrl = inject('pgUrl');
    // The floor and pg-boss need a real PostgreSQL; without one, the store-less references and
    // Tidings on PGlite still run.
    const engine = pgUrl ? 'pg' : 'pglite';
    const systems = pgUrl ? 'ceiling,pipeline,floor,baseline,tidings' : 'ceiling,pipeline,tidings';
    const r = await run(
      [
        '--quick',
        '--engine',
        engine,
        '--systems',
        systems,
        '--only',
        'publish,e2e,fanout,latency,isolation,backlog,scaleout',
        '--out',
        out,
      ],
      pgUrl ? { DATABASE_URL: pgUrl } : {},
    );
    expect(r.code, r.err.slice(-3000)).toBe(0);

    const files = readdirSync(out);
    const md = files.find((f) => f.endsWith(`-${engine}-quick.md`));
    const json = files.find((f) => f.endsWith(`-${engine}-quick.json`));
    expect(md, files.join(', ')).toBeDefined();
    expect(json).toBeDefined();
    for (const svg of ['latency', 'backlog']) {
      const f = files.find((x) => x.endsWith(`-${engine}-quick-${svg}.svg`));
      expect(f).toBeDefined();
      expect(readFileSync(path.join(out, f!), 'utf8')).toMatch(
        /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
      );
    }

    const results = JSON.parse(readFileSync(path.join(out, json!), 'utf8')) as ResultsJson;
    expect(results.quick).toBe(true);
    expect(results.errors, JSON.stringify(results.errors, null, 2).slice(0, 3000)).toEqual([]);
    const tidings = `tidings:${engine}`;
    const expectFigure = (system: string, scenario: string, metric: RegExp) => {
      const f = results.figures.find((x) => x.scenario === scenario && metric.test(x.metric));
      expect(f, `${scenario} ${metric}`).toBeDefined();
      const v = f!.values[system];
      expect(v, `${system} ${scenario} ${f!.metric}`).toBeTypeOf('number');
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThan(0);
    };
    const stored = pgUrl ? ['floor', 'baseline', tidings] : [tidings];
    const queues = ['pipeline', ...stored];
    for (const system of ['ceiling', ...queues]) {
      expectFigure(system, 'publish', /publishes\/s$/);
      expectFigure(system, 'publish', /^batches of \d+: events\/s$/);
      expectFigure(system, 'e2e', /^deliveries\/s \(1 endpoint/);
      expectFigure(system, 'e2e', /^deliveries\/s, batch publish/);
      expectFigure(system, 'e2e', /^single publishes: service CPU per delivery$/);
      expectFigure(system, 'fanout', /^deliveries\/s/);
      expectFigure(system, 'latency', /p99$/);
    }
    for (const system of stored) {
      expectFigure(system, 'backlog', /^drain: deliveries\/s overall/);
      expectFigure(system, 'backlog', /^RSS max/);
    }
    for (const system of pgUrl ? ['baseline', tidings] : [tidings]) {
      expectFigure(system, 'isolation', /^isolation ratio/);
    }
    if (pgUrl) {
      // Counted from the server log, for every system with PostgreSQL sessions.
      for (const system of stored) {
        expectFigure(system, 'e2e', /^single publishes: statements per delivered event$/);
        expectFigure(system, 'e2e', /^batch publish: statements per delivered event$/);
        expectFigure(system, 'e2e', /^batch publish: PostgreSQL CPU per delivery$/);
      }
      expect(results.statements.map((s) => s.system)).toEqual(expect.arrayContaining(stored));
      // One api process and 1…2 worker processes on one database.
      expectFigure(tidings, 'scaleout', /^deliveries\/s, 1 api \+ 1 worker process$/);
      expectFigure(tidings, 'scaleout', /^deliveries\/s, 1 api \+ 2 worker processes$/);
      expect(results.scaleOut[tidings]?.map((r) => r.workers)).toEqual([1, 2]);
    }
    // The harness accounts for the CPU of its own processes in every run.
    expect(results.cpu.length).toBeGreaterThan(5);

    const text = readFileSync(path.join(out, md!), 'utf8');
    expect(text).toContain('## Machine');
    expect(text).toContain(
      '| scenario | figure | raw sender ceiling | pipeline ceiling | durable floor | baseline (pg-boss) |',
    );
    for (const ratio of ['Tidings/ceiling', 'Tidings/pipeline', 'Tidings/floor', 'Tidings/pg-boss'])
      expect(text).toContain(ratio);
    expect(text).toMatch(/The harness's own processes used [\d.]+ CPU seconds/);
    // A quick run never overwrites the recorded results.
    expect(existsSync(path.join(REPO, 'bench/results', md!))).toBe(false);
  }, 300_000);
});
