// `npx tsx scripts/openapi.ts [--check]`: writes the API's OpenAPI document to
// docs/openapi.json (built in process from the routes, see src/apiDocument.ts) and lints it
// with Redocly's recommended rules (redocly.yaml). --check writes nothing: it fails when the
// committed document is not what the routes give, then lints. `npm test` runs it.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { buildApiDocument } from '../src/apiDocument.js';

export const DOCUMENT_FILE = 'docs/openapi.json';

export function documentText(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const text = documentText(await buildApiDocument());
  if (check) {
    let committed = '';
    try {
      committed = readFileSync(DOCUMENT_FILE, 'utf8');
    } catch {}
    if (committed !== text) {
      console.error(`${DOCUMENT_FILE} is stale: run \`npx tsx scripts/openapi.ts\` and \`npm run client\`.`);
      process.exit(1);
    }
  } else {
    writeFileSync(DOCUMENT_FILE, text);
    console.log(`wrote ${DOCUMENT_FILE}`);
  }
  const lint = spawnSync('node_modules/.bin/redocly', ['lint', DOCUMENT_FILE, '--format', 'stylish'], {
    stdio: 'inherit',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  process.exit(lint.status ?? 1);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
