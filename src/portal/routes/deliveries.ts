// Delivery pages: one delivery with its attempts, and resend.
import type { ApiContext, App } from '../../api/context.js';
import type { DeliveryDetailJson, EndpointJson, SentBodyJson } from '../apiTypes.js';
import { field } from '../form.js';
import { deliveryPage } from '../pages/delivery.js';
import { signedIn, type Visit } from '../signed.js';
import { doneFlash } from './endpoints.js';

/** Where to go back to after a resend: a portal page, never anywhere else. */
function safeBack(back: string, fallback: string): string {
  return /^\/portal(\/[A-Za-z0-9_\-./]*)?(\?[A-Za-z0-9_\-.~%=&:+]*)?$/.test(back) ? back : fallback;
}

export async function deliveryPages(app: App, ctx: ApiContext): Promise<void> {
  const didOf = (v: Visit) => (v.req.params as { did: string }).did;
  const path = (v: Visit, did: string) => `${v.api.base}/deliveries/${encodeURIComponent(did)}`;

  async function show(v: Visit, did: string, status = 200, problem?: string) {
    const d = await v.api.call<DeliveryDetailJson>('GET', path(v, did));
    if (!d.ok) return v.notFound('delivery');
    const [ep, body] = await Promise.all([
      v.api.call<EndpointJson>('GET', `${v.api.base}/endpoints/${encodeURIComponent(d.body.endpoint_id)}`),
      v.api.call<SentBodyJson>('GET', `${path(v, did)}/request-body`),
    ]);
    return v.show(
      status,
      `Delivery ${d.body.id}`,
      deliveryPage({
        csrf: v.session.csrf,
        delivery: d.body,
        endpointUrl: ep.ok ? ep.body.url : undefined,
        requestBody: body.ok ? body.body : { problem: body.error.message },
      }),
      problem ? { kind: 'error', text: problem } : doneFlash(v.req.query),
    );
  }

  app.get(
    '/deliveries/:did',
    signedIn(app, ctx, (v) => show(v, didOf(v))),
  );

  app.post(
    '/deliveries/:did/resend',
    signedIn(app, ctx, async (v) => {
      const did = didOf(v);
      const r = await v.api.call('POST', `${path(v, did)}/resend`);
      if (!r.ok) return r.status === 404 ? v.notFound('delivery') : show(v, did, r.status, r.error.message);
      const back = safeBack(field(v.form, 'back'), `/portal/deliveries/${encodeURIComponent(did)}`);
      return v.reply.redirect(`${back}${back.includes('?') ? '&' : '?'}done=resent`, 303);
    }),
  );
}
