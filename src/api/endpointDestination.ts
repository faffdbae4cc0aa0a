// An endpoint's destination beyond a bare HTTPS POST (issue 17): a client certificate for
// mutual TLS, OAuth2 client credentials, and the settings of broker URLs (nats://, amqp://,
// redis://). The schemas the endpoint routes spread into theirs, the checks on the endpoint as
// it will be after the change, and how it is shown: certificates by subject and fingerprint,
// never a key, a client secret or a broker password.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { type Static, Type } from 'typebox';
import type { Config } from '../config.js';
import { type DestinationKind, kindOfUrl } from '../delivery/destinations/types.js';
import type { Endpoint } from '../store/endpoints.js';
import type {
  BrokerSettings,
  ClientCertificate,
  DestinationSettings,
  MtlsSettings,
  OAuthSettings,
} from '../store/endpointTargets.js';
import { unprocessable } from './errors.js';
import { checkTargetUrl } from './targetUrl.js';

const MAX_CERTIFICATE = 32 * 1024;
const MAX_KEY = 16 * 1024;
const MAX_CA = 256 * 1024;

const CertificateInput = {
  certificate: Type.String({
    minLength: 1,
    maxLength: MAX_CERTIFICATE,
    description: 'PEM client certificate, optionally followed by its intermediate certificates',
  }),
  key: Type.String({
    minLength: 1,
    maxLength: MAX_KEY,
    description: 'PEM private key of the certificate (unencrypted); stored encrypted, never shown',
  }),
};

const MtlsInput = Type.Object(
  {
    ...CertificateInput,
    ca: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: MAX_CA }), Type.Null()], {
        description:
          "PEM bundle of the CAs that sign the receiver's server certificate, trusted instead of the system roots for this endpoint",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Mutual TLS: the client certificate Tidings presents to an https:// endpoint. Replacing it here takes effect at once; POST …/mtls/rotate keeps the old one offered for a grace period.',
  },
);

const OAuthInput = Type.Object(
  {
    token_url: Type.String({ minLength: 1, maxLength: 2048, description: 'OAuth2 token endpoint (https)' }),
    client_id: Type.String({ minLength: 1, maxLength: 512 }),
    client_secret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: 'Stored encrypted, never shown; may be left out of a PATCH to keep the current one',
      }),
    ),
    scope: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()])),
    audience: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()])),
    auth_method: Type.Optional(
      Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post')], {
        description: 'How the client authenticates at the token endpoint (default client_secret_basic)',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'OAuth2 client credentials: Tidings fetches a token, caches it until shortly before it expires and sends it as Authorization: Bearer',
  },
);

const BrokerInput = Type.Object(
  {
    subject: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 255,
        description: 'nats: JetStream subject; {type} is the event type',
      }),
    ),
    exchange: Type.Optional(
      Type.String({ maxLength: 255, description: 'amqp: exchange ("" is the default exchange)' }),
    ),
    routing_key: Type.Optional(
      Type.String({ maxLength: 255, description: 'amqp: routing key; {type} is the event type' }),
    ),
    stream: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 512,
        description: 'redis: stream key; {type} is the event type',
      }),
    ),
    max_len: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000_000 }), Type.Null()], {
        description: 'redis: trim the stream to about this many entries (XADD MAXLEN ~)',
      }),
    ),
    username: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()])),
    password: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Null()], {
        description: 'Stored encrypted, never shown; may be left out of a PATCH to keep the current one',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Where a broker endpoint (nats://, amqp://, redis://) puts messages',
  },
);

/** The input fields endpoint creation and PATCH accept (null removes a setting). */
export const destinationFields = {
  mtls: Type.Optional(Type.Union([MtlsInput, Type.Null()])),
  oauth: Type.Optional(Type.Union([OAuthInput, Type.Null()])),
  broker: Type.Optional(Type.Union([BrokerInput, Type.Null()])),
};

export interface DestinationInput {
  url?: string | undefined;
  headers?: Record<string, string> | undefined;
  mtls?: Static<typeof MtlsInput> | null | undefined;
  oauth?: Static<typeof OAuthInput> | null | undefined;
  broker?: Static<typeof BrokerInput> | null | undefined;
}

const CertificateView = Type.Object({
  subject: Type.String(),
  issuer: Type.String(),
  serial_number: Type.String(),
  fingerprint_sha256: Type.String(),
  valid_from: Type.String(),
  valid_to: Type.String(),
});

export const CertificateAnswer = Type.Object({
  certificate: CertificateView,
  previous: Type.Array(
    Type.Object({
      ...CertificateView.properties,
      offered_until: Type.String({ description: 'Until when this replaced certificate is still offered' }),
    }),
  ),
  ca: Type.Union([
    Type.Object({ certificates: Type.Array(Type.String({ description: 'Subjects' })) }),
    Type.Null(),
  ]),
});

/** What the endpoint view shows of the destination. */
export const destinationViewFields = {
  destination: Type.Union(
    [
      Type.Literal('http'),
      Type.Literal('nats'),
      Type.Literal('amqp'),
      Type.Literal('redis'),
      Type.Literal('relay'),
    ],
    {
      description:
        'Where deliveries go: http (POST), nats (JetStream), amqp (RabbitMQ), redis (stream), relay (the stream of a `tidings listen`)',
    },
  ),
  mtls: Type.Union([CertificateAnswer, Type.Null()]),
  oauth: Type.Union([
    Type.Object({
      token_url: Type.String(),
      client_id: Type.String(),
      scope: Type.Union([Type.String(), Type.Null()]),
      audience: Type.Union([Type.String(), Type.Null()]),
      auth_method: Type.String(),
    }),
    Type.Null(),
  ]),
  broker: Type.Union([
    Type.Object({
      subject: Type.Union([Type.String(), Type.Null()]),
      exchange: Type.Union([Type.String(), Type.Null()]),
      routing_key: Type.Union([Type.String(), Type.Null()]),
      stream: Type.Union([Type.String(), Type.Null()]),
      max_len: Type.Union([Type.Integer(), Type.Null()]),
      username: Type.Union([Type.String(), Type.Null()]),
      has_password: Type.Boolean(),
    }),
    Type.Null(),
  ]),
};

function certificateInfo(pem: string) {
  const x = new X509Certificate(pem);
  return {
    subject: x.subject.split('\n').join(', '),
    issuer: x.issuer.split('\n').join(', '),
    serial_number: x.serialNumber,
    fingerprint_sha256: x.fingerprint256,
    valid_from: new Date(x.validFrom).toISOString(),
    valid_to: new Date(x.validTo).toISOString(),
  };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function pemBlocks(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

export function certificateAnswer(m: MtlsSettings, now: Date) {
  return {
    certificate: certificateInfo(m.current.certificate),
    previous: m.previous
      .filter((p) => Date.parse(p.expires_at) > now.getTime())
      .map((p) => ({ ...certificateInfo(p.certificate), offered_until: p.expires_at })),
    ca: m.ca ? { certificates: pemBlocks(m.ca).map((b) => certificateInfo(b).subject) } : null,
  };
}

/** The destination part of an endpoint's view: no key, client secret or password. */
export function destinationView(e: Endpoint, now: Date) {
  return {
    destination: kindOfUrl(e.url) ?? 'http',
    mtls: e.mtls ? certificateAnswer(e.mtls, now) : null,
    oauth: e.oauth
      ? {
          token_url: e.oauth.token_url,
          client_id: e.oauth.client_id,
          scope: e.oauth.scope,
          audience: e.oauth.audience,
          auth_method: e.oauth.auth_method,
        }
      : null,
    broker: e.broker
      ? {
          subject: e.broker.subject,
          exchange: e.broker.exchange,
          routing_key: e.broker.routing_key,
          stream: e.broker.stream,
          max_len: e.broker.max_len,
          username: e.broker.username,
          has_password: e.broker.password !== null,
        }
      : null,
  };
}

/** A client certificate and key as given: parsed, matching, not expired. */
export function checkClientCertificate(
  input: { certificate: string; key: string },
  now: Date,
): ClientCertificate {
  const blocks = pemBlocks(input.certificate);
  if (blocks.length === 0) {
    throw unprocessable(
      'invalid_certificate',
      'mtls.certificate must be a PEM certificate (-----BEGIN CERTIFICATE-----).',
    );
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]!);
    for (const b of blocks.slice(1)) new X509Certificate(b);
  } catch (err) {
    throw unprocessable('invalid_certificate', `mtls.certificate does not parse: ${(err as Error).message}.`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(input.key);
  } catch {
    throw unprocessable('invalid_key', 'mtls.key must be an unencrypted PEM private key.');
  }
  if (!leaf.checkPrivateKey(key)) {
    throw unprocessable('key_mismatch', "mtls.key is not the certificate's private key.");
  }
  const validTo = new Date(leaf.validTo);
  if (validTo.getTime() <= now.getTime()) {
    throw unprocessable('certificate_expired', `The client certificate expired on ${validTo.toISOString()}.`);
  }
  return { certificate: blocks.join('\n'), key: input.key };
}

function checkCa(ca: string): string {
  const blocks = pemBlocks(ca);
  if (blocks.length === 0) {
    throw unprocessable('invalid_ca', 'mtls.ca must hold one or more PEM certificates.');
  }
  try {
    for (const b of blocks) new X509Certificate(b);
  } catch (err) {
    throw unprocessable('invalid_ca', `mtls.ca does not parse: ${(err as Error).message}.`);
  }
  return blocks.join('\n');
}

// A NATS subject to publish on: dot-separated tokens, no wildcards or white space.
const NATS_SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
// RabbitMQ exchange names: letters, digits, hyphen, underscore, period, colon.
const AMQP_EXCHANGE = /^[A-Za-z0-9_.:-]*$/;
/** Control characters: never in a routing key or stream key. */
function hasControl(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

function checkBroker(kind: Exclude<DestinationKind, 'http' | 'relay'>, url: URL, b: BrokerSettings): void {
  const fields: Record<typeof kind, (keyof BrokerSettings)[]> = {
    nats: ['subject'],
    amqp: ['exchange', 'routing_key'],
    redis: ['stream'],
  };
  const others = (['subject', 'exchange', 'routing_key', 'stream', 'max_len'] as const).filter(
    (f) => !fields[kind].includes(f) && !(kind === 'redis' && f === 'max_len'),
  );
  for (const f of fields[kind]) {
    if (b[f] === null) {
      throw unprocessable('broker_setting_missing', `A ${url.protocol}// endpoint needs broker.${f}.`);
    }
  }
  for (const f of others) {
    if (b[f] !== null) {
      throw unprocessable(
        'broker_setting_unused',
        `broker.${f} does not apply to a ${url.protocol}// endpoint.`,
      );
    }
  }
  if (b.password !== null && b.username === null && kind !== 'redis') {
    throw unprocessable('broker_setting_missing', 'broker.password needs broker.username.');
  }
  if (url.search !== '' || url.hash !== '') {
    throw unprocessable('invalid_url', 'A broker URL takes no query or fragment; use the broker settings.');
  }
  if (kind === 'nats') {
    if (url.pathname !== '' && url.pathname !== '/') {
      throw unprocessable('invalid_url', 'A nats:// URL has no path; the subject is broker.subject.');
    }
    if (!NATS_SUBJECT.test(b.subject!.replaceAll('{type}', 'x'))) {
      throw unprocessable(
        'invalid_subject',
        'broker.subject must be dot-separated tokens without spaces or wildcards (* >).',
      );
    }
  }
  if (kind === 'amqp') {
    if (!AMQP_EXCHANGE.test(b.exchange!)) {
      throw unprocessable('invalid_exchange', 'broker.exchange may hold letters, digits and - _ . : only.');
    }
    if (hasControl(b.routing_key!)) {
      throw unprocessable('invalid_routing_key', 'broker.routing_key must not contain control characters.');
    }
    if (b.exchange === '' && b.routing_key === '') {
      throw unprocessable(
        'invalid_routing_key',
        'With the default exchange, broker.routing_key names the queue.',
      );
    }
  }
  if (kind === 'redis') {
    if (!/^\/?(\d{1,2})?$/.test(url.pathname)) {
      throw unprocessable(
        'invalid_url',
        'The path of a redis:// URL is the database number (redis://host:6379/0).',
      );
    }
    if (hasControl(b.stream!)) {
      throw unprocessable('invalid_stream', 'broker.stream must not contain control characters.');
    }
  }
}

/**
 * Checks the destination settings of the endpoint as it will be once this input is applied
 * (`before` is the stored endpoint on a PATCH), and turns the input into what the store keeps.
 * A key is undefined when the input leaves that setting unchanged.
 */
export function checkDestination(
  input: DestinationInput,
  before: Endpoint | undefined,
  config: Config,
  now: Date,
): Partial<DestinationSettings> {
  const out: Partial<DestinationSettings> = {};
  if (input.mtls === null) out.mtls = null;
  else if (input.mtls) {
    out.mtls = {
      current: checkClientCertificate(input.mtls, now),
      previous: [],
      ca: input.mtls.ca ? checkCa(input.mtls.ca) : null,
    };
  }
  if (input.oauth === null) out.oauth = null;
  else if (input.oauth) {
    const o = input.oauth;
    const problem = checkTargetUrl(o.token_url, config);
    if (problem) throw unprocessable('invalid_token_url', `oauth.token_url: ${problem}`);
    const secret = o.client_secret ?? before?.oauth?.client_secret;
    if (secret === undefined) throw unprocessable('oauth_secret_missing', 'oauth.client_secret is required.');
    out.oauth = {
      token_url: o.token_url,
      client_id: o.client_id,
      client_secret: secret,
      scope: o.scope ?? null,
      audience: o.audience ?? null,
      auth_method: o.auth_method ?? 'client_secret_basic',
    } satisfies OAuthSettings;
  }
  if (input.broker === null) out.broker = null;
  else if (input.broker) {
    const b = input.broker;
    const password = b.password === undefined ? (before?.broker?.password ?? null) : b.password;
    out.broker = {
      subject: b.subject ?? null,
      exchange: b.exchange ?? null,
      routing_key: b.routing_key ?? null,
      stream: b.stream ?? null,
      max_len: b.max_len ?? null,
      username: b.username ?? null,
      password,
    };
  }

  // The endpoint after the change must be consistent as a whole.
  const url = new URL(input.url ?? before?.url ?? '');
  const kind = kindOfUrl(url.href) ?? 'http';
  const mtls = out.mtls === undefined ? (before?.mtls ?? null) : out.mtls;
  const oauth = out.oauth === undefined ? (before?.oauth ?? null) : out.oauth;
  const broker = out.broker === undefined ? (before?.broker ?? null) : out.broker;
  const headers = input.headers ?? before?.headers ?? {};
  if (kind === 'relay') {
    // A `tidings listen` endpoint: its requests go down the CLI's stream, as they are.
    for (const [name, value] of [
      ['mtls', mtls],
      ['oauth', oauth],
      ['broker', broker],
    ] as const) {
      if (value) {
        throw unprocessable('destination_mismatch', `${name} does not apply to a relay endpoint.`);
      }
    }
  } else if (kind !== 'http') {
    for (const [name, value] of [
      ['mtls', mtls],
      ['oauth', oauth],
    ] as const) {
      if (value) {
        throw unprocessable(
          'destination_mismatch',
          `${name} applies to http(s) endpoints, not ${url.protocol}//; send "${name}": null.`,
        );
      }
    }
    if (!broker) {
      throw unprocessable(
        'broker_setting_missing',
        `A ${url.protocol}// endpoint needs the broker settings.`,
      );
    }
    checkBroker(kind, url, broker);
  } else {
    if (broker) {
      throw unprocessable(
        'destination_mismatch',
        'broker applies to nats://, amqp:// and redis:// endpoints; send "broker": null.',
      );
    }
    if (mtls && url.protocol !== 'https:') {
      throw unprocessable('destination_mismatch', 'mtls needs an https:// URL.');
    }
    if (oauth && Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
      throw unprocessable(
        'oauth_conflicts_with_header',
        'oauth sets the Authorization header; remove the static "Authorization" header.',
      );
    }
  }
  return out;
}
