// How the operator commands reach Tidings: through its HTTP API, at --url with --token (or
// TIDINGS_URL and TIDINGS_TOKEN), so they work against any deployment and never open a store.
// A 429 is waited out (Retry-After) a few times; any other error answer becomes an ApiFailure
// with the API's code and message.

export interface ApiOptions {
  url?: string;
  token?: string;
}

export class CommandError extends Error {
  constructor(
    message: string,
    /** The process exit code: 1 for a refused or failed call, 2 for a misused command. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** An error answer of the API. */
export class ApiFailure extends CommandError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'ApiFailure';
  }
}

export interface Api {
  readonly url: string;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** A GET whose body is read as it arrives (an event stream); rejects when Tidings cannot be reached. */
  open(path: string, signal: AbortSignal): Promise<Response>;
}

const RETRIES_ON_429 = 5;

export function apiFrom(opts: ApiOptions, env: NodeJS.ProcessEnv = process.env): Api {
  const url = (opts.url ?? env.TIDINGS_URL)?.replace(/\/+$/, '');
  const token = opts.token ?? env.TIDINGS_TOKEN;
  if (!url) throw new CommandError('tidings: give the API address: --url URL (or TIDINGS_URL)', 2);
  if (!token) throw new CommandError('tidings: give a token: --token TOKEN (or TIDINGS_TOKEN)', 2);
  return {
    url,
    open: (path, signal) =>
      fetch(url + path, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal,
      }),
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      for (let attempt = 0; ; attempt++) {
        let res: Response;
        try {
          res = await fetch(url + path, {
            method,
            headers,
            ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          });
        } catch (err) {
          const cause = (err as { cause?: { message?: string } }).cause?.message;
          throw new CommandError(`tidings: cannot reach ${url}: ${cause ?? (err as Error).message}`);
        }
        const wait = Number(res.headers.get('retry-after'));
        if (res.status === 429 && attempt < RETRIES_ON_429 && Number.isFinite(wait) && wait > 0) {
          await res.body?.cancel();
          await new Promise((r) => setTimeout(r, Math.min(wait, 60) * 1000));
          continue;
        }
        const text = await res.text();
        const answer: unknown = text ? JSON.parse(text) : null;
        if (!res.ok) {
          const e = (answer as { error?: { code?: string; message?: string; details?: unknown } } | null)
            ?.error;
          throw new ApiFailure(res.status, e?.code ?? 'error', e?.message ?? text, e?.details ?? null);
        }
        return answer as T;
      }
    },
  };
}

/** A path segment, percent-encoded. */
export const seg = (s: string) => encodeURIComponent(s);

/** A query string of the defined values. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Every item of a paged list (or the first `limit`), following next_cursor. */
export async function listAll<T>(
  api: Api,
  path: string,
  params: Record<string, string | number | boolean | undefined>,
  limit?: number,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.call<Page<T>>(
      'GET',
      path + query({ ...params, limit: Math.min(250, limit ?? 250), cursor }),
    );
    out.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined && (limit === undefined || out.length < limit));
  return limit === undefined ? out : out.slice(0, limit);
}
