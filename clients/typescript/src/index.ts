// The Tidings API client: the generated types (schema.ts) on openapi-fetch, with the bearer
// token, retries of 429 answers after their Retry-After, errors thrown as TidingsError with
// the operation's documented codes, and an iterator over cursor-paged lists.
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import { type CodeOf, type ErrorBody, TidingsError } from './errors.js';
import { type RetryOptions, retryingFetch } from './retry.js';
import type { paths } from './schema.js';

export { type CodeOf, type ErrorBody, TidingsError } from './errors.js';
export { type RetryOptions, retryAfterMs, retryingFetch } from './retry.js';
export type { components, operations, paths } from './schema.js';
export {
  DEFAULT_TOLERANCE_S,
  type VerifiedWebhook,
  type VerifyOptions,
  verifyWebhook,
  WebhookVerificationError,
} from './webhooks.js';

export interface TidingsOptions extends RetryOptions {
  /** e.g. https://tidings.example.com (no /v1). */
  baseUrl: string;
  /** The operator token or a tenant token. */
  token: string;
  /** Another fetch (tests, proxies). */
  fetch?: (req: Request) => Promise<Response>;
  /** More openapi-fetch options. */
  client?: Omit<ClientOptions, 'baseUrl' | 'fetch'>;
}

export type TidingsClient = Client<paths>;

/** A client for every route of the API, typed from the OpenAPI document. */
export function createTidings(opts: TidingsOptions): TidingsClient {
  const base = opts.fetch ?? ((req: Request) => globalThis.fetch(req));
  const client = createClient<paths>({
    ...opts.client,
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    fetch: retryingFetch(base, opts),
  });
  client.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${opts.token}`);
      return request;
    },
  });
  return client;
}

interface Answer<D, E> {
  data?: D;
  error?: E;
  response: Response;
}

/** The answer's data, or a TidingsError (with the codes the operation documents) thrown. */
export async function unwrap<D, E>(call: Promise<Answer<D, E>>): Promise<D> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    throw new TidingsError<CodeOf<E>>(response.status, error as ErrorBody<CodeOf<E>> | undefined, response);
  }
  return data as D;
}

/** A page of a list route. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/**
 * Every item of a cursor-paged list, page after page: give it the call for one page, which
 * gets the cursor (undefined for the first page).
 *
 *   for await (const t of paginate((cursor) => api.GET('/v1/tenants', { params: { query: { cursor } } })))
 */
export async function* paginate<T, E>(
  page: (cursor: string | undefined) => Promise<Answer<Page<T>, E>>,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  do {
    const p = await unwrap(page(cursor));
    yield* p.data;
    cursor = p.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
