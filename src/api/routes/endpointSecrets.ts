// An endpoint's signing secret: what receivers verify with (revealed on request), and its
// rotation, where the replaced secret keeps signing beside the new one for a grace period.
import { type Static, Type } from 'typebox';
import {
  isLive,
  newSigningSecret,
  type PreviousSecret,
  publicKeyOfSecret,
  SIGNING_SCHEMES,
  schemeOf,
  verificationKey,
} from '../../signing/secrets.js';
import { getSigningSecrets, rotateSigningSecret } from '../../store/endpointSecrets.js';
import { getEndpoint } from '../../store/endpoints.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { checkProfileSigning, checkSecret } from '../endpointInput.js';
import { notFound } from '../errors.js';
import { EndpointParams, errors, Timestamp } from '../schemas.js';

export const Signing = Type.Union(
  SIGNING_SCHEMES.map((s) => Type.Literal(s)),
  {
    description:
      'hmac (default): v1 signatures with a whsec_ secret; ed25519: v1a signatures, receivers verify with the whpk_ public key. Changing it rotates the secret (the old one keeps signing for 24 h).',
  },
);

/** How long a replaced secret keeps signing when no grace period is given. */
export const DEFAULT_GRACE_S = 86_400;
const MAX_GRACE_S = 30 * 86_400;

const RotateSecret = Type.Object(
  {
    grace_period_s: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_S,
        description: 'How long the replaced secret keeps signing beside the new one (default 86400)',
      }),
    ),
    secret: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'The new secret (whsec_… or whsk_…); generated when absent',
      }),
    ),
  },
  { additionalProperties: false },
);

const SecretAnswer = Type.Object({
  secret: Type.String({ description: 'What receivers verify with (whsec_ secret or whpk_ public key)' }),
  signing: Signing,
  public_key: Type.Union([Type.String(), Type.Null()]),
  previous_valid_until: Type.Array(Timestamp, {
    description: 'Until when each replaced secret still signs beside the current one',
  }),
});

function secretAnswer(current: string, previous: PreviousSecret[], now: Date) {
  return {
    secret: verificationKey(current),
    signing: schemeOf(current),
    public_key: publicKeyOfSecret(current),
    previous_valid_until: previous.filter((p) => isLive(p, now)).map((p) => p.expires_at),
  };
}

export async function endpointSecretRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.get<{ Params: EndpointParams }>(
    '/v1/tenants/:tid/endpoints/:eid/secret',
    {
      schema: {
        tags: ['endpoints'],
        summary: "Reveal what receivers verify an endpoint's signatures with",
        params: EndpointParams,
        response: { 200: SecretAnswer, ...errors(401, 404) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const s = await getSigningSecrets(ctx.db, ctx.codec, req.params.tid, req.params.eid);
      if (!s) throw notFound('endpoint', req.params.eid);
      return secretAnswer(s.current, s.previous, ctx.clock.now());
    },
  );

  app.post<{ Params: EndpointParams; Body: Static<typeof RotateSecret> | undefined }>(
    '/v1/tenants/:tid/endpoints/:eid/secret/rotate',
    {
      schema: {
        tags: ['endpoints'],
        summary:
          'Replace the signing secret; the old one keeps signing beside the new one for the grace period',
        params: EndpointParams,
        body: Type.Optional(RotateSecret),
        response: { 200: SecretAnswer, ...errors(401, 404, 422) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const { tid, eid } = req.params;
      const now = ctx.clock.now();
      const graceS = req.body?.grace_period_s ?? DEFAULT_GRACE_S;
      const given = req.body?.secret;
      const rotated = await ctx.db.tx(async (q) => {
        const e = await getEndpoint(q, ctx.codec, tid, eid);
        if (!e) throw notFound('endpoint', eid);
        const scheme = given ? schemeOf(given) : schemeOf(e.secret);
        checkSecret(given, scheme);
        checkProfileSigning(e.profile, scheme);
        const next = given ?? newSigningSecret(scheme);
        return rotateSigningSecret(
          q,
          ctx.codec,
          tid,
          eid,
          next,
          new Date(now.getTime() + graceS * 1000),
          now,
        );
      });
      if (!rotated) throw notFound('endpoint', eid);
      return secretAnswer(rotated.current, rotated.previous, now);
    },
  );
}
