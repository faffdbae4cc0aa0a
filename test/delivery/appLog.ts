// A logger for app-level delivery tests that keeps warnings and errors in memory, so a test
// can check what the operator is told and print the story when something goes wrong.
import { createLogger, type Logger } from '../../src/log.js';

export interface CapturedLog {
  log: Logger;
  lines: { level: number; msg: string; [k: string]: unknown }[];
  dump(): string;
}

export function captureLog(level = 'info'): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const log = createLogger(level, {
    write(s: string) {
      try {
        lines.push(JSON.parse(s));
      } catch {
        lines.push({ level: 0, msg: s });
      }
    },
  });
  return {
    log,
    lines,
    dump: () =>
      lines
        .filter((l) => l.level >= 40)
        .slice(-30)
        .map((l) => JSON.stringify(l))
        .join('\n'),
  };
}
