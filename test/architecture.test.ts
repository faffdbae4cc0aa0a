// The floors of src/ (docs/architecture.md): the tree keeps them, and the check does catch a
// back-up import, a circle and a room on no floor when a fixture makes one on purpose.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkArchitecture, FLOORS } from '../scripts/architecture.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A little src/ tree: path → text. */
function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'tidings-arch-'));
  dirs.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

const FIXTURE_FLOORS = [['api'], ['delivery'], ['store'], ['config']];

describe('architecture', () => {
  it('src/ keeps the floors: no import runs back up, no circle', () => {
    expect(checkArchitecture('src')).toEqual([]);
  });

  it('a tree that runs down the floors passes', () => {
    const root = fixture({
      'api/routes.ts': "import { send } from '../delivery/worker.js';\nexport const r = send;\n",
      'delivery/worker.ts':
        "import type { Row } from '../store/rows.js';\nexport const send = (r?: Row) => r;\n",
      'store/rows.ts': "import { LIMIT } from '../config.js';\nexport type Row = { n: typeof LIMIT };\n",
      'config.ts': 'export const LIMIT = 1;\n',
    });
    expect(checkArchitecture(root, FIXTURE_FLOORS)).toEqual([]);
  });

  it('fails on a deliberate back-up import (store importing delivery), type-only ones too', () => {
    const root = fixture({
      'delivery/worker.ts': 'export const send = () => 1;\n',
      'store/rows.ts': "import type { send } from '../delivery/worker.js';\nexport type Row = typeof send;\n",
    });
    const problems = checkArchitecture(root, FIXTURE_FLOORS);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.kind).toBe('upward');
    expect(problems[0]!.message).toContain('store may not import delivery');
  });

  it('fails on a circle, even inside one room', () => {
    const root = fixture({
      'api/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'api/b.ts': "export const b = async () => (await import('./a.js')).a;\n",
    });
    const problems = checkArchitecture(root, FIXTURE_FLOORS);
    expect(problems.map((p) => p.kind)).toEqual(['cycle']);
    expect(problems[0]!.message).toContain('a.ts');
  });

  it('fails on a new top-level room that is on no floor', () => {
    const root = fixture({
      'newthing/x.ts': "import { LIMIT } from '../config.js';\nexport const x = LIMIT;\n",
    });
    const problems = checkArchitecture(root, FIXTURE_FLOORS);
    expect(problems.map((p) => p.kind)).toEqual(['unplaced']);
  });

  it('docs/architecture.md lists the floors in the order the check uses', () => {
    const doc = readFileSync('docs/architecture.md', 'utf8');
    const listed = [...doc.matchAll(/^\| (\d+) \| ([^|]+) \|/gm)].map((m) =>
      m[2]!
        .split(',')
        .map((r) => r.trim().replace(/`/g, ''))
        .filter(Boolean),
    );
    expect(listed).toEqual(FLOORS.map((f) => [...f]));
  });
});
