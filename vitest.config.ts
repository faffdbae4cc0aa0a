import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    pool: 'forks',
    // Two cores: two files at once; PGlite instances are CPU-bound.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Browser and chaos tests start their own processes; they are listed here by folder so
    // a focused run (npx vitest run test/api) stays fast.
  },
});
