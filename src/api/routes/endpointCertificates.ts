// Rotating an endpoint's mTLS client certificate with overlap, as signing secrets rotate: the
// new certificate is presented from now on, and the one it replaces is still offered for the
// grace period whenever the receiver refuses the new one (it has not trusted it yet).
import { type Static, Type } from 'typebox';
import { rotateClientCertificate } from '../../store/endpointCertificates.js';
import { requireTenant } from '../auth.js';
import type { ApiContext, App } from '../context.js';
import { CertificateAnswer, certificateAnswer, checkClientCertificate } from '../endpointDestination.js';
import { ApiError, notFound } from '../errors.js';
import { EndpointParams, errors } from '../schemas.js';

const DEFAULT_GRACE_S = 7 * 86_400;
const MAX_GRACE_S = 90 * 86_400;

const RotateCertificate = Type.Object(
  {
    certificate: Type.String({
      minLength: 1,
      maxLength: 32 * 1024,
      description: 'PEM client certificate (and intermediates)',
    }),
    key: Type.String({
      minLength: 1,
      maxLength: 16 * 1024,
      description: 'Its PEM private key (unencrypted)',
    }),
    grace_period_s: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_S,
        description: `How long the replaced certificate is still offered when the receiver refuses the new one (default ${DEFAULT_GRACE_S})`,
      }),
    ),
  },
  { additionalProperties: false },
);

export async function endpointCertificateRoutes(app: App, ctx: ApiContext): Promise<void> {
  app.post<{ Params: EndpointParams; Body: Static<typeof RotateCertificate> }>(
    '/v1/tenants/:tid/endpoints/:eid/mtls/rotate',
    {
      schema: {
        tags: ['endpoints'],
        summary:
          'Replace the mTLS client certificate; the old one is still offered, when the receiver refuses the new one, for the grace period',
        params: EndpointParams,
        body: RotateCertificate,
        response: { 200: CertificateAnswer, ...errors(401, 404, 409, 422) },
      },
    },
    async (req) => {
      requireTenant(req.principal, req.params.tid);
      const { tid, eid } = req.params;
      const now = ctx.clock.now();
      const next = checkClientCertificate(req.body, now);
      const graceS = req.body.grace_period_s ?? DEFAULT_GRACE_S;
      const r = await ctx.db.tx((q) =>
        rotateClientCertificate(q, ctx.codec, tid, eid, next, new Date(now.getTime() + graceS * 1000), now),
      );
      if (!r.ok && r.reason === 'not_found') throw notFound('endpoint', eid);
      if (!r.ok) {
        throw new ApiError(
          409,
          'no_client_certificate',
          'This endpoint has no client certificate to rotate; set one with PATCH {"mtls": {…}}.',
        );
      }
      return certificateAnswer(r.mtls, now);
    },
  );
}
