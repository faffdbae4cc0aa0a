// A value that got past the API's checks but that the store refuses (a CHECK constraint of
// migration 007, a number or a date outside its type's range, a character PostgreSQL cannot
// keep) is bad input: 422, never a 500 and never a half-written state (the transaction rolled
// back). The log still names it, so a check missing from the API gets noticed.
import { ApiError } from './errors.js';

/** PostgreSQL error codes (SQLSTATE) that mean "this value cannot be stored". */
const REFUSED: Record<string, string> = {
  '23514': 'a value is outside the bounds the store holds',
  '22003': 'a number is out of range',
  '22008': 'a date or time is out of range',
  '22007': 'a date or time is malformed',
  '22021': 'text holds a character the store cannot keep',
  '22P05': 'text holds a character the store cannot keep',
};

export function storeRefusal(err: unknown): ApiError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  const why = REFUSED[code];
  if (!why) return undefined;
  return new ApiError(422, 'value_refused', `The store refused the request: ${why}.`, { sqlstate: code });
}
