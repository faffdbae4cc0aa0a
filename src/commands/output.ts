// What the operator commands print: JSON for scripts (--json, one document on stdout), aligned
// tables and key/value blocks for people, and a progress bar on stderr (only on a terminal)
// for operations over many deliveries.
import cliProgress from 'cli-progress';

export interface Out {
  line(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress bars are drawn there only). */
  interactive: boolean;
}

export const processOut: Out = {
  line: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  interactive: process.stderr.isTTY === true,
};

export type Column<T> = [header: string, value: (row: T) => unknown];

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Rows as columns aligned with spaces, headers in capitals. */
export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = [
    columns.map(([h]) => h.toUpperCase()),
    ...rows.map((r) => columns.map(([, f]) => cell(f(r)))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

/** One object as `key: value` lines. */
export function block(entries: [string, unknown][]): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${cell(v)}`).join('\n');
}

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

/** A progress bar on stderr when it is a terminal; nothing otherwise. */
export function progress(out: Out, label: string, total: number): Progress {
  if (!out.interactive) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done, t) => {
      if (t !== undefined) bar.setTotal(t);
      bar.update(done);
    },
    stop: () => bar.stop(),
  };
}
