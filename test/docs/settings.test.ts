// Docs that quote a setting's default (a `| \`TIDINGS_X\` | default | … |` row) quote the one
// the settings table declares (src/config/settings.ts), so that a changed default cannot
// leave a page behind.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingRows } from '../../src/config.js';

const norm = (s: string) => s.replace(/[`,\s]/g, '').toLowerCase();

describe('settings in the docs', () => {
  const byName = new Map(settingRows().map((r) => [r.name, r]));
  const rows = readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) =>
      [...readFileSync(`docs/${f}`, 'utf8').matchAll(/^\| `(TIDINGS_[A-Z0-9_]+)` \| ([^|]+) \|/gm)].map(
        (m) => ({
          file: f,
          name: m[1]!,
          shown: m[2]!.trim(),
        }),
      ),
    );

  it('finds the quoted settings', () => {
    expect(rows.length).toBeGreaterThan(10);
  });

  it.each(rows.map((r) => [r.file, r.name, r.shown] as const))(
    '%s: %s default "%s" is the declared one',
    (_f, name, shown) => {
      const declared = byName.get(name);
      expect(declared, `${name} is not a setting`).toBeDefined();
      const d = declared!.default;
      if (d.startsWith('(')) expect(shown).toMatch(/none|unset|generated|\(/i);
      else expect(norm(shown)).toContain(norm(d));
    },
  );
});
