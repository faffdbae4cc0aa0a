// The README tells a new user every setting; the table is generated from the parser's list.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsTable } from '../scripts/readme.js';

describe('README', () => {
  const readme = readFileSync('README.md', 'utf8');
  it('shows the two commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
  it('has the current configuration table (run npx tsx scripts/readme.ts)', () => {
    expect(readme).toContain(settingsTable());
  });
});
