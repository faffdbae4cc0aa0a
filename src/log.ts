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
