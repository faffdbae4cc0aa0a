// Decides once per test run whether the PostgreSQL half of the suite runs.
// No server answering: the PGlite half runs alone and says so loudly; with
// TIDINGS_REQUIRE_PG=1 (set by .ci/run) that is a failure instead.
import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

export default async function setup(project: TestProject) {
  const url = process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
  const problem = await reachable(url);
  if (problem) {
    if (process.env.TIDINGS_REQUIRE_PG === '1') {
      throw new Error(`TIDINGS_REQUIRE_PG=1 but PostgreSQL at ${url} does not answer: ${problem}`);
    }
    const bar = '!'.repeat(78);
    console.warn(
      `\n${bar}\n!! PostgreSQL at ${url} does not answer (${problem}).\n!! ONLY THE PGLITE HALF OF THE SUITE RUNS; the PostgreSQL half is SKIPPED.\n!! Set TEST_DATABASE_URL or start PostgreSQL to run both.\n${bar}\n`,
    );
    project.provide('pgUrl', '');
  } else {
    project.provide('pgUrl', url);
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}
