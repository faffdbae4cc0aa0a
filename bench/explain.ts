// `--explain`: the plans of the service's slow statements, as PostgreSQL ran them. Each Tidings
// database the harness creates gets auto_explain (ANALYZE, BUFFERS) for statements slower than a
// threshold; afterwards the plans are cut out of the server's log into one file. auto_explain
// with ANALYZE slows every statement, so figures of an --explain run are not comparable: use it
// for a profiling run, not for the recorded one.
import { closeSync, existsSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';

export const EXPLAIN_MIN_MS = 20;

/** Settings given to each database (ALTER DATABASE … SET), so every session of the service loads them. */
export function explainSettings(db: string): string[] {
  return [
    `ALTER DATABASE ${db} SET session_preload_libraries = 'auto_explain'`,
    `ALTER DATABASE ${db} SET auto_explain.log_min_duration = ${EXPLAIN_MIN_MS}`,
    `ALTER DATABASE ${db} SET auto_explain.log_analyze = on`,
    `ALTER DATABASE ${db} SET auto_explain.log_buffers = on`,
    `ALTER DATABASE ${db} SET auto_explain.log_nested_statements = on`,
  ];
}

/** Where the Debian packaging logs the server (override with BENCH_PG_LOG). */
export function serverLogPath(serverVersion: string): string {
  const major = /(\d+)/.exec(serverVersion)?.[1] ?? '15';
  return process.env.BENCH_PG_LOG || `/var/log/postgresql/postgresql-${major}-main.log`;
}

export function logSize(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

/**
 * The auto_explain entries of databases whose name starts with `dbPrefix`, logged after byte
 * `from` of the server log. Continuation lines of a log entry start with a tab.
 */
export function extractPlans(file: string, from: number, dbPrefix: string): string[] {
  if (!existsSync(file)) return [];
  const size = statSync(file).size;
  if (size <= from) return [];
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(size - from);
  readSync(fd, buf, 0, buf.length, from);
  closeSync(fd);
  const entries: string[] = [];
  let current: string[] | undefined;
  for (const line of buf.toString('utf8').split('\n')) {
    if (line.startsWith('\t') && current) {
      current.push(line);
      continue;
    }
    if (current) entries.push(current.join('\n'));
    current = line.includes(`@${dbPrefix}`) && line.includes('plan:') ? [line] : undefined;
  }
  if (current) entries.push(current.join('\n'));
  return entries;
}

export function writePlans(file: string, plans: string[]): void {
  const header = `# auto_explain plans (ANALYZE, BUFFERS) of the service's statements slower than ${EXPLAIN_MIN_MS} ms\n\n`;
  writeFileSync(file, header + plans.join('\n\n') + '\n');
}
