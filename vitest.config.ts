import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Chaos tests kill processes and restart PostgreSQL: they run alone (vitest.chaos.config.ts).
    exclude: ['test/chaos/**', 'node_modules/**'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    // Child processes (bin/tidings.js) run the TypeScript sources, as the tests do, never a stale dist/.
    env: { TIDINGS_DEV: '1' },
    pool: 'forks',
    // Two cores: two files at once; PGlite instances are CPU-bound.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
