// One pino logger. Secrets never reach a log line: request headers that carry credentials,
// endpoint secrets and static header values are redacted wherever they appear.
import { pino } from 'pino';

export type Logger = pino.Logger;

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'secret',
  '*.secret',
  'headers',
  '*.headers',
  'body.secret',
  'body.headers',
  'token',
  '*.token',
  'adminToken',
  '*.adminToken',
  'encryptionKey',
  '*.encryptionKey',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tidings' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
