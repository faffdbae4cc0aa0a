// The operator's commands in the `tidings` CLI, all through the API (--url/--token or
// TIDINGS_URL/TIDINGS_TOKEN): looking at tenants, endpoints, events and deliveries, and acting
// on deliveries (resend, recover).
import type { Command } from 'commander';
import { registerActionCommands } from './actions.js';
import { registerListenCommands } from './listen.js';
import { type Out, processOut } from './output.js';
import { registerResourceCommands } from './resources.js';

export function registerOperatorCommands(program: Command, out: Out = processOut): void {
  registerResourceCommands(program, out);
  registerActionCommands(program, out);
  registerListenCommands(program, out);
}
