// The event catalog page (issue 15): read with the session, like every portal page.
import type { ApiContext, App } from '../../api/context.js';
import type { EventTypeJson } from '../apiTypes.js';
import { catalogPage } from '../pages/catalog.js';
import { signedIn } from '../signed.js';

export async function catalogPages(app: App, ctx: ApiContext): Promise<void> {
  app.get(
    '/catalog',
    signedIn(app, ctx, async (v) => {
      const r = await v.api.call<{ data: EventTypeJson[] }>('GET', '/v1/event-types');
      return v.show(
        r.ok ? 200 : r.status,
        'Event catalog',
        catalogPage(r.ok ? r.body.data : [], r.ok ? undefined : r.error.message),
      );
    }),
  );
}
