// HTTP(S) endpoints: the POST of sender.ts, plus mutual TLS and OAuth2 bearer tokens.
//
// mTLS: an endpoint with a client certificate gets undici agents of its own (one per
// certificate it may offer), built on the pinned connector (pinnedAgent.ts), so the resolved
// address is checked and dialled exactly as for every other delivery. Agents are cached per
// endpoint and settings version and closed when the settings change or go unused.
//
// Rotation with overlap: after a rotation the replaced certificate stays live for its grace
// period. The agent that last got through is tried first; when the TLS handshake is refused
// because of the certificate (the receiver does not trust it yet, or any more), the same
// attempt tries the other live certificate. A receiver may so switch its trust at any moment
// of the grace period without losing a delivery.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import type { ClientCertificate, MtlsSettings } from '../../store/endpointTargets.js';
import { createOutboundAgent, type PinnedAgentOptions } from '../pinnedAgent.js';
import { send } from '../sender.js';
import type { OAuthTokens } from './oauth.js';
import {
  type Deadline,
  type Destination,
  type EndpointTarget,
  failure,
  type OutboundRequest,
  type SendResult,
} from './types.js';

export interface HttpDestinationOptions {
  /** The shared pinned dispatcher, for endpoints without a client certificate. */
  dispatcher: Dispatcher;
  /** How per-endpoint agents are built: the same address rules, timeouts and proxy as the shared one. */
  agent: PinnedAgentOptions & { proxyUrl?: string };
  tokens: OAuthTokens;
  /** Agents of an endpoint unused this long are closed (default 10 min). */
  idleMs?: number;
  now?: () => number;
}

interface EndpointAgents {
  /** Fingerprint of the mtls settings these agents were built from. */
  settings: string;
  /** The CA bundle every agent of the set trusts. */
  ca: string | null;
  /** By certificate fingerprint. */
  agents: Map<string, Dispatcher>;
  /** The certificate that last got through the handshake, and when. */
  preferred: string | undefined;
  preferredAt: number;
  lastUsed: number;
}

// How a receiver's refusal of our certificate shows. With TLS 1.2 the handshake fails with an
// OpenSSL alert (err.code ERR_SSL_TLSV1_ALERT_UNKNOWN_CA, ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE, …).
// With TLS 1.3 the client finishes its side of the handshake before the server has checked the
// certificate, so the refusal arrives as a connection closed before any answer (undici:
// "UND_ERR_SOCKET: other side closed", or a reset). Such a close is only taken for a refusal
// when another live certificate could be tried; sending again then is what a retry would do.
const CERTIFICATE_REFUSED =
  /ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(?:BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED|DECRYPT_ERROR|HANDSHAKE_FAILURE)|^UND_ERR_SOCKET: other side closed|^ECONNRESET\b/;

export function isCertificateRefusal(res: SendResult): boolean {
  return res.status === null && res.error !== null && CERTIFICATE_REFUSED.test(res.error);
}

/** A replaced certificate that got through is tried first for this long, then the current one again. */
const STICKY_MS = 60_000;

function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function certificateId(c: ClientCertificate): string {
  return fingerprint(`${c.certificate}\n${c.key}`);
}

export class HttpDestination implements Destination {
  private readonly endpoints = new Map<string, EndpointAgents>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly idleMs: number;

  constructor(private readonly o: HttpDestinationOptions) {
    this.now = o.now ?? Date.now;
    this.idleMs = o.idleMs ?? 600_000;
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(60_000, this.idleMs));
    this.sweeper.unref();
  }

  async send(target: EndpointTarget, req: OutboundRequest, deadline: Deadline): Promise<SendResult> {
    const oauth = target.oauth;
    if (!oauth) return this.post(target, req, undefined, deadline);
    const first = await this.o.tokens.token(oauth, deadline);
    if (!first.ok) return failure(first.error, deadline);
    const res = await this.post(target, req, first.token, deadline);
    if (res.status !== 401) return res;
    // The endpoint refused the token (revoked, rotated keys at the gateway): one fresh token, one retry.
    this.o.tokens.invalidate(oauth, first.token);
    const second = await this.o.tokens.token(oauth, deadline);
    if (!second.ok) return failure(`HTTP 401 with the cached token; ${second.error}`, deadline);
    return this.post(target, req, second.token, deadline);
  }

  /** One POST, through the endpoint's own agents when it has a client certificate. */
  private async post(
    target: EndpointTarget,
    req: OutboundRequest,
    bearer: string | undefined,
    deadline: Deadline,
  ): Promise<SendResult> {
    const headers = bearer ? withBearer(req.headers, bearer) : req.headers;
    const attempt = async (dispatcher: Dispatcher) => {
      const res = await send(dispatcher, {
        url: target.url,
        headers,
        body: req.body,
        timeoutMs: deadline.timeoutMs,
        bodyLimit: req.bodyLimit,
        signal: deadline.signal,
      });
      return { ...res, durationMs: deadline.elapsed() };
    };
    if (!target.mtls) return attempt(this.o.dispatcher);
    const set = this.agentsFor(target, target.mtls);
    const order = this.candidates(target.mtls, set);
    let res: SendResult | undefined;
    let refusals = 0;
    for (const [id, cert] of order) {
      res = await attempt(this.agent(set, id, cert, target));
      if (!isCertificateRefusal(res)) {
        if (set.preferred !== id || refusals > 0) {
          set.preferred = id;
          set.preferredAt = this.now();
        }
        return res;
      }
      refusals += 1;
      if (deadline.remaining() <= 0) break;
    }
    return res!;
  }

  /**
   * The live certificates in the order to try them: current first, then the replaced ones; but a
   * replaced one that got through lately goes first, so that while the receiver still trusts only
   * the old certificate not every delivery pays for a refused handshake.
   */
  private candidates(mtls: MtlsSettings, set: EndpointAgents): [string, ClientCertificate][] {
    const now = this.now();
    const live: [string, ClientCertificate][] = [
      [certificateId(mtls.current), mtls.current],
      ...mtls.previous
        .filter((p) => Date.parse(p.expires_at) > now)
        .map((p): [string, ClientCertificate] => [certificateId(p), p]),
    ];
    const preferred = live.findIndex(([id]) => id === set.preferred);
    if (preferred > 0 && now - set.preferredAt < STICKY_MS) live.unshift(...live.splice(preferred, 1));
    return live;
  }

  private agentsFor(target: EndpointTarget, mtls: MtlsSettings): EndpointAgents {
    // The host is part of it: an agent's TLS server name (through a proxy) is the endpoint's.
    const settings = fingerprint(JSON.stringify([new URL(target.url).host, mtls]));
    let set = this.endpoints.get(target.id);
    if (set && set.settings !== settings) {
      // New certificates or CA: keep the agents of certificates still offered (unless the CA
      // changed, which every agent was built with), close the rest once their requests finish.
      const keep = new Set([certificateId(mtls.current), ...mtls.previous.map(certificateId)]);
      for (const [id, agent] of set.agents) {
        if (set.ca !== mtls.ca || !keep.has(id)) {
          set.agents.delete(id);
          void agent.close().catch(() => {});
        }
      }
      set.settings = settings;
      set.ca = mtls.ca;
    }
    if (!set) {
      set = { settings, ca: mtls.ca, agents: new Map(), preferred: undefined, preferredAt: 0, lastUsed: 0 };
      this.endpoints.set(target.id, set);
    }
    set.lastUsed = this.now();
    return set;
  }

  private agent(
    set: EndpointAgents,
    id: string,
    cert: ClientCertificate,
    target: EndpointTarget,
  ): Dispatcher {
    let agent = set.agents.get(id);
    if (!agent) {
      agent = createOutboundAgent({
        ...this.o.agent,
        tls: {
          cert: cert.certificate,
          key: cert.key,
          ...(set.ca ? { ca: set.ca } : {}),
          ...tlsServername(target.url),
        },
      });
      set.agents.set(id, agent);
    }
    return agent;
  }

  /** Closes the agents of endpoints not sent to for a while (deleted, disabled, moved to another worker). */
  private closeIdle(): void {
    const before = this.now() - this.idleMs;
    for (const [endpointId, set] of this.endpoints) {
      if (set.lastUsed >= before) continue;
      this.endpoints.delete(endpointId);
      for (const agent of set.agents.values()) void agent.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const agents = [...this.endpoints.values()].flatMap((s) => [...s.agents.values()]);
    this.endpoints.clear();
    await Promise.allSettled(agents.map((a) => a.close()));
  }
}

/** The request's headers with Authorization replaced by the bearer token (whatever its case). */
function withBearer(headers: Record<string, string>, token: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'authorization') out[name] = value;
  }
  out.authorization = `Bearer ${token}`;
  return out;
}

/** The endpoint's hostname as TLS server name (a proxy tunnel needs it); none for an IP literal. */
function tlsServername(url: string): { servername?: string } {
  const host = new URL(url).hostname;
  return host.startsWith('[') || isIP(host) !== 0 ? {} : { servername: host };
}
