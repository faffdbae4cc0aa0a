// Refreshes the generated parts of README.md: the configuration table (from the settings
// tables, src/config/settings.ts)
// and the latest benchmark table (from bench/results/). Run: npx tsx scripts/readme.ts
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { settingRows } from '../src/config.js';

export function settingsTable(): string {
  const rows = settingRows().map((s) => `| \`${s.name}\` | ${s.default} | ${s.meaning} |`);
  return ['| setting | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

function latestBench(): string {
  const dir = 'bench/results';
  if (!existsSync(dir)) return '_No recorded results yet._';
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}-\d{2}-\d{2}-.*\.md$/.test(f))
    .sort();
  const pg = files.filter((f) => f.endsWith('-pg.md')).pop() ?? files.pop();
  if (!pg) return '_No recorded results yet._';
  return `Latest recorded run: [bench/results/${pg}](bench/results/${pg})\n\n${readFileSync(`${dir}/${pg}`, 'utf8').trim()}`;
}

function replaceBetween(text: string, name: string, body: string): string {
  const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
  return text.replace(re, `$1\n${body}\n$2`);
}

if (process.argv[1]?.endsWith('readme.ts')) {
  let readme = readFileSync('README.md', 'utf8');
  readme = replaceBetween(readme, 'settings', settingsTable());
  readme = replaceBetween(readme, 'bench', latestBench());
  writeFileSync('README.md', readme);
}
