// Summarises a V8 CPU profile (written by `--cpu-prof`, e.g. `npm run bench -- --cpu-prof`):
// self time per function and per file, and total (inclusive) time of the service's own
// functions, so the hot spots can be read without opening DevTools.
//
//   npx tsx bench/profile.ts <file.cpuprofile> [--top 25]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_DIR } from './ipc.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  selfByFunction: ProfileRow[];
  selfByFile: ProfileRow[];
  /** Inclusive time of functions under src/ (what a change in the service would save). */
  totalBySrcFunction: ProfileRow[];
}

function where(f: CallFrame): string {
  let u = f.url.replace(/^file:\/\//, '');
  if (u.startsWith(REPO_DIR)) u = path.relative(REPO_DIR, u);
  u = u.replace(/^.*node_modules\//, 'node_modules/');
  return u || '(native)';
}

function label(f: CallFrame): string {
  return `${f.functionName || '(anonymous)'} ${where(f)}:${f.lineNumber + 1}`;
}

export function summarise(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName;
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      if (name === '(idle)') idle += us;
      add(fn, name, us);
      add(file, name, us);
      continue;
    }
    add(fn, label(n.callFrame), us);
    add(file, where(n.callFrame), us);
    // Inclusive time: every distinct src/ function on the stack gets this sample's time once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!where(f).startsWith('src/')) continue;
      const k = label(f);
      if (seen.has(k)) continue;
      seen.add(k);
      add(inclusive, k, us);
    }
  }
  const rows = (m: Map<string, number>): ProfileRow[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: totalUs ? us / totalUs : 0 }));
  return {
    totalMs: Math.round(totalUs / 1000),
    idleMs: Math.round(idle / 1000),
    selfByFunction: rows(fn),
    selfByFile: rows(file),
    totalBySrcFunction: rows(inclusive),
  };
}

export function summaryMarkdown(s: ProfileSummary): string {
  const table = (title: string, rows: ProfileRow[]) =>
    [
      `**${title}**`,
      '',
      '| ms | share | where |',
      '| ---: | ---: | --- |',
      ...rows.map((r) => `| ${r.ms} | ${(r.share * 100).toFixed(1)} % | \`${r.name}\` |`),
    ].join('\n');
  return [
    `Profile: ${s.totalMs} ms sampled, ${s.idleMs} ms idle.`,
    '',
    table('Self time by file', s.selfByFile),
    '',
    table('Self time by function', s.selfByFunction),
    '',
    table('Inclusive time of service functions (src/)', s.totalBySrcFunction),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: npx tsx bench/profile.ts <file.cpuprofile> [--top N]\n');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  const top = i > 0 ? Number(process.argv[i + 1]) : 25;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${summaryMarkdown(summarise(profile, top))}\n`);
}
