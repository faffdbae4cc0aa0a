// The operator token Tidings generates at first start (when TIDINGS_ADMIN_TOKEN is unset) is
// shown to a person once and never written into the log stream (issue 13: it was printed to
// stdout, where log collectors keep it). Where it goes, first that applies:
// 1. stdout, when stdout is a terminal (someone is watching: `npm start`);
// 2. the controlling terminal (/dev/tty), when stdout goes elsewhere but a terminal runs the
//    process (`npm start > tidings.log`, `… | tee`);
// 3. with no terminal at all (a container, a service manager), a file in the data folder,
//    readable by this user only; the log says where (not what), to read once and delete.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin-token.txt';

export interface RevealOptions {
  stdout: { isTTY?: boolean; write(text: string): unknown };
  /** The controlling terminal's device; null where there is none to try (Windows). */
  ttyPath: string | null;
  dataDir: string;
}

export type Revealed = { on: 'stdout' } | { on: 'tty' } | { on: 'file'; file: string };

export function adminTokenBanner(token: string): string {
  return `\n  Admin token (shown once; store it, e.g. export TOKEN=...):\n\n    ${token}\n\n`;
}

export function revealAdminToken(token: string, o: RevealOptions): Revealed {
  const banner = adminTokenBanner(token);
  if (o.stdout.isTTY) {
    o.stdout.write(banner);
    return { on: 'stdout' };
  }
  if (o.ttyPath) {
    try {
      const fd = openSync(o.ttyPath, 'w');
      try {
        writeSync(fd, banner);
      } finally {
        closeSync(fd);
      }
      return { on: 'tty' };
    } catch {
      // No controlling terminal (ENXIO): fall through to the file.
    }
  }
  mkdirSync(o.dataDir, { recursive: true });
  const file = path.join(o.dataDir, ADMIN_TOKEN_FILE);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { on: 'file', file };
}
