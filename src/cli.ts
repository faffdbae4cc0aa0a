#!/usr/bin/env node
// `tidings serve | migrate | catalog load FILE | keys …`, and the operator's commands through
// the API (src/commands/): tenants, endpoints, events, deliveries, resend, recover, listen, trigger.
import { Command } from 'commander';
import { registerOperatorCommands } from './commands/index.js';
import { ConfigError, loadConfig } from './config.js';
import { shutdownTracing } from './observability/tracingShutdown.js';
import { VERSION } from './version.js';

// The operator's commands only talk to the API: they skip loading the service (its store,
// server and worker take seconds to import), which the other commands need.
const API_ONLY = new Set([
  'tenants',
  'endpoints',
  'events',
  'deliveries',
  'resend',
  'recover',
  'listen',
  'trigger',
]);

const program = new Command('tidings')
  .description('Webhook delivery for financial products')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError();

function configOrExit(flags: Parameters<typeof loadConfig>[1]) {
  try {
    return loadConfig(process.env, flags);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`tidings: bad setting ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

async function registerServiceCommands(): Promise<void> {
  const { lockDataDir, openStore, startTidings } = await import('./app.js');
  const { CatalogError } = await import('./catalog/load.js');
  const { catalogLoadCommand } = await import('./catalog/loadCommand.js');
  const { registerKeyCommands } = await import('./security/keysCommand.js');
  const { revealAdminToken } = await import('./security/adminToken.js');
  const { migrate } = await import('./store/migrate.js');

  program
    .command('serve')
    .description('run the service (roles api, worker, scheduler; all by default)')
    .option('--roles <roles>', 'comma-separated roles: api, worker, scheduler')
    .option('--port <port>', 'HTTP port (TIDINGS_PORT)')
    .option('--host <host>', 'listen address (TIDINGS_HOST)')
    .option('--data-dir <dir>', 'embedded store folder (TIDINGS_DATA_DIR)')
    .action(async (flags: { roles?: string; port?: string; host?: string; dataDir?: string }) => {
      const config = configOrExit(flags);
      let tokenFile: string | undefined;
      const t = await startTidings(config, {
        // To a person, never into the log stream (see security/adminToken.ts).
        onAdminTokenCreated: (token) => {
          const r = revealAdminToken(token, {
            stdout: process.stdout,
            ttyPath: process.platform === 'win32' ? null : '/dev/tty',
            dataDir: config.dataDir,
          });
          if (r.on === 'file') tokenFile = r.file;
        },
      }).catch((err: unknown) => {
        // A bad TIDINGS_CATALOG file: the places of its problems, without a stack trace.
        if (err instanceof CatalogError) {
          console.error(`tidings: ${err.message}`);
          process.exit(2);
        }
        throw err;
      });
      t.log.info(
        {
          url: t.url,
          ...(t.opsUrl ? { ops: t.opsUrl } : {}),
          roles: config.roles,
          store: config.databaseUrl ? 'postgresql' : `pglite:${config.dataDir}`,
        },
        'tidings started',
      );
      if (tokenFile) {
        t.log.warn(
          { file: tokenFile },
          'no terminal to show the generated admin token on: it was written to this file (readable by this user only); read it, keep it somewhere safe, then delete the file',
        );
      }
      // The service runs until it is told to stop. Its own timers do not hold the process (they
      // are unref'd so that tests can stop it): a worker-only process whose store connections
      // all dropped at once (a PostgreSQL restart) would otherwise find nothing left to wait on
      // and exit 0 while it should be reconnecting.
      const running = setInterval(() => {}, 1 << 30);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        clearInterval(running);
        t.log.info({ signal }, 'stopping: finishing in-flight deliveries');
        await t.stop();
        await shutdownTracing();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });

  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(async () => {
      const config = configOrExit({});
      const unlock = config.databaseUrl ? () => {} : lockDataDir(config.dataDir);
      const db = await openStore(config);
      const applied = await migrate(db);
      console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'schema is up to date');
      await db.close();
      unlock();
    });

  program
    .command('catalog')
    .description('the event type catalog')
    .command('load <file>')
    .description('validate a catalog file and upsert its event types (loading twice changes nothing)')
    .option('--url <url>', "load through a running server's API instead of straight into the store")
    .option('--token <token>', 'admin token for --url (default TIDINGS_ADMIN_TOKEN)')
    .action(async (file: string, flags: { url?: string; token?: string }) => {
      process.exitCode = await catalogLoadCommand(file, flags, () => configOrExit({}));
    });

  registerKeyCommands(program, () => configOrExit({}));
}

if (!API_ONLY.has(process.argv[2] ?? '')) await registerServiceCommands();
registerOperatorCommands(program);

await program.parseAsync(process.argv);
