// One pino logger. Secrets never reach a log line: request headers that carry credentials,
// endpoint secrets and static header values are redacted wherever they appear.
import { pino } from 'pino';

export type Logger = pino.Logger;

// pino redacts by path (no deep wildcard), so every shape a secret travels in is listed: an
// endpoint or its input (`secret`, `headers`, `previous_secrets`), a request (`req.headers`),
// a request body, a token, the configuration. test/security/redaction.test.ts holds this list
// to real traffic at trace level.
const SECRET_FIELDS = [
  'secret',
  'secretKey',
  'previous_secrets',
  'headers',
  'token',
  'password',
  'adminToken',
  'encryptionKey',
  'authorization',
];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'body.secret',
  'body.headers',
  'body.token',
];

export type LogFormat = 'auto' | 'json' | 'pretty';

/** auto: pretty lines for a person at a terminal, JSON for a collector (a pipe, a file, a container log). */
export function prettyLogs(format: LogFormat, isTTY = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

/**
 * The process's logger. With a destination (tests) it writes JSON there. Otherwise JSON to
 * stdout, or, when `format` asks for it, coloured lines through pino-pretty, which runs as a
 * pino transport in a worker thread so formatting never slows the service's own thread.
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'tidings' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!destination && prettyLogs(format)) {
    return pino(
      options,
      pino.transport({
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
      }),
    );
  }
  return pino(options, destination);
}
