import { defineConfig } from 'vitest/config';

// The chaos suite: real processes killed at random and a PostgreSQL restart. One file at a
// time, after the main suite, so a restart cannot break an unrelated test.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    // Child processes (bin/tidings.js) run the TypeScript sources, as the tests do, never a stale dist/.
    env: { TIDINGS_DEV: '1' },
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
