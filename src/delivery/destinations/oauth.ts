// OAuth2 client-credentials tokens (RFC 6749 §4.4) for endpoints behind a gateway that wants
// `Authorization: Bearer`. A token is cached until shortly before it expires, refreshed by one
// request however many deliveries want it at once (single flight), refreshed in the background
// once it is close to expiry (senders keep using the still-valid one meanwhile), and dropped
// when the endpoint answers 401 with it. The token URL is fetched through the same pinned
// dispatcher as deliveries, so it obeys the SSRF rules. Failures are values, never throws.
import { createHash } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import type { OAuthSettings } from '../../store/endpointTargets.js';
import { USER_AGENT } from '../request.js';
import { type Deadline, describeError, withinDeadline } from './types.js';

export type TokenResult = { ok: true; token: string } | { ok: false; error: string };

export interface OAuthTokensOptions {
  /** The pinned dispatcher (SSRF rules) token requests go through. */
  dispatcher: Dispatcher;
  /** How long one token request may take. */
  timeoutMs: number;
  /** Refresh at most this long before expiry (default 60 s); never earlier than 90 % of the lifetime. */
  refreshMarginMs?: number;
  /** Lifetime assumed when the answer has no expires_in (default 5 min). */
  defaultLifetimeMs?: number;
  /** Milliseconds now (tests). */
  now?: () => number;
}

interface CachedToken {
  value: string;
  /** From here on a refresh starts in the background. */
  refreshAt: number;
  expiresAt: number;
}

interface Entry {
  token?: CachedToken;
  inflight?: Promise<TokenResult>;
}

const MAX_ERROR_TEXT = 200;

export class OAuthTokens {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  /** Token requests sent (for metrics and tests). */
  requests = 0;

  constructor(private readonly o: OAuthTokensOptions) {
    this.now = o.now ?? Date.now;
  }

  /** A token for these credentials: cached, or fetched once for every caller waiting on it. */
  async token(s: OAuthSettings, deadline: Deadline): Promise<TokenResult> {
    const key = credentialsKey(s);
    const entry = this.entries.get(key) ?? {};
    this.entries.set(key, entry);
    const now = this.now();
    const cached = entry.token;
    if (cached && now < cached.expiresAt) {
      if (now >= cached.refreshAt && !entry.inflight) void this.refresh(key, entry, s);
      return { ok: true, token: cached.value };
    }
    try {
      return await withinDeadline(this.refresh(key, entry, s), deadline, 'no OAuth2 token');
    } catch (err) {
      return { ok: false, error: `oauth: ${describeError(err)}` };
    }
  }

  /** The endpoint refused this token (401): the next caller fetches a new one. */
  invalidate(s: OAuthSettings, token: string): void {
    const entry = this.entries.get(credentialsKey(s));
    if (entry?.token?.value === token) delete entry.token;
  }

  private refresh(key: string, entry: Entry, s: OAuthSettings): Promise<TokenResult> {
    if (entry.inflight) return entry.inflight;
    const run = this.fetchToken(s)
      .then((r) => {
        if (r.ok) {
          entry.token = r.token;
          this.sweep();
          return { ok: true as const, token: r.token.value };
        }
        // A background refresh failed while the old token is still valid: keep it, and try
        // again a little later rather than on every send.
        const now = this.now();
        if (entry.token) entry.token.refreshAt = now + Math.min(5000, (entry.token.expiresAt - now) / 2);
        return { ok: false as const, error: r.error };
      })
      .finally(() => {
        delete entry.inflight;
        if (!entry.token) this.entries.delete(key);
      });
    entry.inflight = run;
    return run;
  }

  /** Forgets tokens that have expired (credentials no endpoint uses any more). */
  private sweep(): void {
    const now = this.now();
    for (const [key, e] of this.entries) {
      if (!e.inflight && (!e.token || e.token.expiresAt <= now)) this.entries.delete(key);
    }
  }

  private async fetchToken(
    s: OAuthSettings,
  ): Promise<{ ok: true; token: CachedToken } | { ok: false; error: string }> {
    this.requests += 1;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (s.scope) form.set('scope', s.scope);
    if (s.audience) form.set('audience', s.audience);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      'user-agent': USER_AGENT,
    };
    if (s.auth_method === 'client_secret_post') {
      form.set('client_id', s.client_id);
      form.set('client_secret', s.client_secret);
    } else {
      // RFC 6749 §2.3.1: both parts form-urlencoded before the Basic encoding.
      const user = `${formEncode(s.client_id)}:${formEncode(s.client_secret)}`;
      headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    }
    const started = this.now();
    let status: number;
    let text: string;
    try {
      const res = await request(s.token_url, {
        dispatcher: this.o.dispatcher,
        method: 'POST',
        headers,
        body: form.toString(),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      return { ok: false, error: `oauth: token request to ${s.token_url} failed: ${describeError(err)}` };
    }
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
    } catch {
      // not JSON: reported below
    }
    if (status < 200 || status >= 300) {
      const reason =
        typeof json?.error === 'string'
          ? ` (${[json.error, json.error_description].filter((x) => typeof x === 'string').join(': ')})`
          : '';
      return {
        ok: false,
        error: `oauth: token endpoint ${s.token_url} answered HTTP ${status}${reason.slice(0, MAX_ERROR_TEXT)}`,
      };
    }
    const value = json?.access_token;
    if (typeof value !== 'string' || value === '') {
      return { ok: false, error: `oauth: token endpoint ${s.token_url} answered without an access_token` };
    }
    const type = json?.token_type;
    if (typeof type === 'string' && type.toLowerCase() !== 'bearer') {
      return {
        ok: false,
        error: `oauth: token endpoint ${s.token_url} issued a "${type.slice(0, 40)}" token; only Bearer tokens are supported`,
      };
    }
    const expiresIn = Number(json?.expires_in);
    const lifetime =
      Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : (this.o.defaultLifetimeMs ?? 300_000);
    const margin = Math.min(this.o.refreshMarginMs ?? 60_000, lifetime / 10);
    return {
      ok: true,
      token: { value, expiresAt: started + lifetime, refreshAt: started + lifetime - margin },
    };
  }
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for the Basic credentials. */
function formEncode(text: string): string {
  return new URLSearchParams({ x: text }).toString().slice(2);
}

/** One cache entry per set of credentials; the secret is hashed, never kept as a key. */
function credentialsKey(s: OAuthSettings): string {
  return createHash('sha256')
    .update(JSON.stringify([s.token_url, s.client_id, s.client_secret, s.scope, s.audience, s.auth_method]))
    .digest('base64url');
}
