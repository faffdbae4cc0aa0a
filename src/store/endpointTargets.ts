// What a worker needs to reach an endpoint beyond its URL: the client certificate for mutual
// TLS, the OAuth2 client credentials, the broker settings. Each is one sealed JSON document in
// its own column (migration 009). The claim statement does not carry them: a worker loads them
// by endpoint id when it first sends to an endpoint and again when the endpoint's updated_at
// (its version) changes, and keeps them opened in memory between.
import type { Queryable } from './db.js';
import type { SecretCodec } from './secrets.js';

export interface ClientCertificate {
  /** PEM: the client certificate, optionally followed by its intermediates. */
  certificate: string;
  /** PEM: its private key. */
  key: string;
}

/** A certificate replaced by a rotation, still offered until `expires_at` (ISO time). */
export interface ReplacedCertificate extends ClientCertificate {
  expires_at: string;
}

export interface MtlsSettings {
  current: ClientCertificate;
  previous: ReplacedCertificate[];
  /** PEM bundle trusted for this endpoint instead of the system roots; null: the system roots. */
  ca: string | null;
}

export type OAuthAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface OAuthSettings {
  token_url: string;
  client_id: string;
  client_secret: string;
  scope: string | null;
  audience: string | null;
  auth_method: OAuthAuthMethod;
}

/** Where on the broker a message goes; which fields apply depends on the URL's scheme. */
export interface BrokerSettings {
  /** nats: the JetStream subject (may contain {type}). */
  subject: string | null;
  /** amqp: the exchange ("" is the default exchange). */
  exchange: string | null;
  /** amqp: the routing key (may contain {type}). */
  routing_key: string | null;
  /** redis: the stream key (may contain {type}). */
  stream: string | null;
  /** redis: trim the stream to about this many entries (XADD MAXLEN ~). */
  max_len: number | null;
  username: string | null;
  password: string | null;
}

export interface DestinationSettings {
  mtls: MtlsSettings | null;
  oauth: OAuthSettings | null;
  broker: BrokerSettings | null;
}

/** An endpoint as a sender needs it: where, and with what, opened. */
export interface EndpointTarget extends DestinationSettings {
  id: string;
  url: string;
  /** The endpoint's updated_at in milliseconds: what cached agents and tokens are keyed by. */
  version: number;
  /** Set when the settings could not be opened (a missing encryption key): every attempt fails with it. */
  problem?: string;
}

/** The stored form: sealed JSON, as `loadEndpointTargets` returns it. */
export interface EndpointTargetRow {
  id: string;
  url: string;
  updated_at: Date;
  mtls: string | null;
  oauth: string | null;
  broker: string | null;
}

/**
 * The rows of these endpoints (by primary key, one statement for a batch). An endpoint that is
 * gone has no row; the caller treats it as gone.
 */
export async function loadEndpointTargets(q: Queryable, endpointIds: string[]): Promise<EndpointTargetRow[]> {
  if (endpointIds.length === 0) return [];
  return q.query<EndpointTargetRow>(
    'SELECT id, url, updated_at, mtls, oauth, broker FROM endpoints WHERE id = ANY($1::text[])',
    [endpointIds],
  );
}

function openJson<T>(sealed: string | null, codec: SecretCodec): T | null {
  return sealed === null ? null : (JSON.parse(codec.open(sealed)) as T);
}

/** The destination settings of a row, opened. Throws when a value does not open. */
export function openDestinationSettings(
  row: Pick<EndpointTargetRow, 'mtls' | 'oauth' | 'broker'>,
  codec: SecretCodec,
): DestinationSettings {
  return {
    mtls: openJson<MtlsSettings>(row.mtls, codec),
    oauth: openJson<OAuthSettings>(row.oauth, codec),
    broker: openJson<BrokerSettings>(row.broker, codec),
  };
}

/** A row opened into a target; a value that does not open becomes the target's `problem`, not a throw. */
export function openEndpointTarget(row: EndpointTargetRow, codec: SecretCodec): EndpointTarget {
  const base = { id: row.id, url: row.url, version: row.updated_at.getTime() };
  try {
    return { ...base, ...openDestinationSettings(row, codec) };
  } catch (err) {
    return {
      ...base,
      mtls: null,
      oauth: null,
      broker: null,
      problem: `could not open the endpoint's destination settings: ${(err as Error).message}`,
    };
  }
}

export function sealSetting(value: object | null | undefined, codec: SecretCodec): string | null {
  return value ? codec.seal(JSON.stringify(value)) : null;
}
