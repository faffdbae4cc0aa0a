// `npm test`: the whole check, in the order that fails fastest.
//   1. lint and format (biome), 2. the floors of src/ (docs/architecture.md: no import runs back
//   up, no circle; under a second), 3. types (tsc), 4. the OpenAPI document (current, and
//   accepted by Redocly's linter), 5. the suite (vitest: PGlite and PostgreSQL), 6. the chaos
//   suite (processes killed, PostgreSQL restarted) when it exists, alone, so that its restart
//   of PostgreSQL cannot disturb other tests.
// Where no PostgreSQL answers, the suite runs on PGlite alone and says so loudly;
// TIDINGS_REQUIRE_PG=1 (set by .ci/run) turns that into a failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

function run(label, cmd, args) {
  console.log(`\n=== ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: false });
  if (r.status !== 0) {
    console.error(`\n=== ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

const bin = (name) => `node_modules/.bin/${name}`;
run('lint', bin('biome'), ['check', '.']);
run('architecture', bin('tsx'), ['scripts/architecture.ts']);
run('types', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
run('openapi', bin('tsx'), ['scripts/openapi.ts', '--check']);
run('tests', bin('vitest'), ['run']);
if (existsSync('test/chaos') && readdirSync('test/chaos').some((f) => f.endsWith('.test.ts'))) {
  run('chaos tests', bin('vitest'), ['run', '--config', 'vitest.chaos.config.ts']);
}
