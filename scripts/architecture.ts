// The house rule of src/: imports run down the floors and never in a circle.
// docs/architecture.md draws the floors and says why; this file holds the list the check uses.
//   npx tsx scripts/architecture.ts          check src/ (exit 1 and a list of problems)
// The test (test/architecture.test.ts) runs the same check on the tree and on a fixture that
// breaks each rule on purpose.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Top-level rooms of src/, highest floor first. A room may import its own floor and any floor
 * below it, never one above. A room is a folder (`store`) or a file at the top (`cli` for
 * src/cli.ts). Rooms on one floor may import each other, as long as no circle forms.
 */
export const FLOORS: readonly (readonly string[])[] = [
  ['cli'],
  ['commands'],
  ['app', 'apiDocument'],
  ['observability'],
  ['portal'],
  ['api'],
  ['catalog'],
  ['scheduler'],
  ['delivery'],
  ['security'],
  ['publishing'],
  ['store'],
  ['signing'],
  ['config', 'limits', 'json', 'ids', 'clock', 'log', 'loopHealth', 'wakeup', 'version'],
];

export interface Problem {
  kind: 'upward' | 'cycle' | 'unplaced';
  message: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a file (static, type-only, re-exports and dynamic), as paths under root. */
function importsOf(file: string, files: Set<string>): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out: string[] = [];
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const target = path.join(path.dirname(file), ref.fileName).replace(/\.js$/, '.ts');
    const resolved = [target, `${target}.ts`, path.join(target, 'index.ts')].find((t) => files.has(t));
    if (resolved) out.push(resolved);
  }
  return out;
}

/** The room of a file: its top folder under root, or its own name when it sits at the top. */
export function roomOf(root: string, file: string): string {
  const parts = path.relative(root, file).split(path.sep);
  return parts.length === 1 ? parts[0]!.replace(/\.m?ts$/, '') : parts[0]!;
}

/** Strongly connected groups of more than one file (Tarjan), each sorted, in a stable order. */
function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Every break of the house rule under root (src/ by default); empty when the tree keeps it. */
export function checkArchitecture(root = 'src', floors: readonly (readonly string[])[] = FLOORS): Problem[] {
  const floorOf = new Map<string, number>();
  floors.forEach((rooms, i) => {
    for (const r of rooms) floorOf.set(r, i);
  });
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
  const problems: Problem[] = [];
  const unplaced = new Set<string>();
  for (const [from, targets] of graph) {
    const a = roomOf(root, from);
    const fa = floorOf.get(a);
    if (fa === undefined) {
      unplaced.add(a);
      continue;
    }
    for (const to of targets) {
      const b = roomOf(root, to);
      const fb = floorOf.get(b);
      if (fb === undefined) unplaced.add(b);
      else if (fb < fa) {
        problems.push({
          kind: 'upward',
          message: `${from} imports ${to}: ${a} may not import ${b}, a floor above it`,
        });
      }
    }
  }
  for (const r of [...unplaced].sort()) {
    problems.push({
      kind: 'unplaced',
      message: `${root}/${r} is on no floor: add it to FLOORS in scripts/architecture.ts and to docs/architecture.md`,
    });
  }
  for (const group of circles(graph)) {
    problems.push({ kind: 'cycle', message: `import circle among ${group.join(', ')}` });
  }
  return problems;
}

if (process.argv[1]?.endsWith('architecture.ts')) {
  const problems = checkArchitecture(process.argv[2] ?? 'src');
  for (const p of problems) console.error(`${p.kind}: ${p.message}`);
  if (problems.length > 0) {
    console.error(`\n${problems.length} break(s) of the floors (docs/architecture.md).`);
    process.exit(1);
  }
  console.log('architecture: every import runs down the floors, no circles');
}
