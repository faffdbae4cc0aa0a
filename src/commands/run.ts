// The frame of every operator command: --url, --token and --json on the command, the API
// client built from them, and errors printed as one line with the exit code they carry.
import type { Command } from 'commander';
import { type Api, apiFrom, CommandError } from './api.js';
import type { Out } from './output.js';

export interface ApiFlags {
  url?: string;
  token?: string;
  json?: boolean;
}

export function apiCommand<F extends ApiFlags, A extends unknown[]>(
  cmd: Command,
  out: Out,
  action: (api: Api, flags: F, ...args: A) => Promise<void>,
): Command {
  return cmd
    .option('--url <url>', 'the Tidings API (TIDINGS_URL)')
    .option('--token <token>', 'an operator or tenant token (TIDINGS_TOKEN)')
    .option('--json', 'print JSON, for scripts')
    .action(async (...params: unknown[]) => {
      // commander passes the arguments, then the options, then the command.
      const args = params.slice(0, -2) as A;
      const flags = params[params.length - 2] as F;
      try {
        await action(apiFrom(flags), flags, ...args);
      } catch (err) {
        if (!(err instanceof CommandError)) throw err;
        out.err(err.message.startsWith('tidings:') ? err.message : `tidings: ${err.message}`);
        process.exitCode = err.exitCode;
      }
    });
}
