// `npm run build` compiles TypeScript to dist/; files that are not TypeScript (SQL
// migrations, portal assets) are copied beside the compiled code that reads them.
import { cpSync, existsSync } from 'node:fs';

const pairs = [
  ['src/store/migrations', 'dist/store/migrations'],
  ['src/portal/assets', 'dist/portal/assets'],
];
for (const [from, to] of pairs) {
  if (existsSync(from)) cpSync(from, to, { recursive: true });
}
