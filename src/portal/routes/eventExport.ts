// The export as a download (the form on the start page). Streamed from the store like the
// API's GET …/events/export, which it shares: going through the in-process API client would
// hold the whole file in memory first.
import type { ApiContext, App } from '../../api/context.js';
import { ApiError } from '../../api/errors.js';
import { exportContentType, exportFileName, exportStream } from '../../api/eventExport.js';
import { exportRequest } from '../../api/routes/eventExport.js';
import { localTime } from '../form.js';
import { html } from '../html.js';
import { signedIn } from '../signed.js';

export async function eventExportPages(app: App, ctx: ApiContext): Promise<void> {
  app.get(
    '/events/export',
    signedIn(app, ctx, async (v) => {
      const q = v.req.query as Record<string, string | undefined>;
      const since = localTime(q.from ?? '', q.tz ?? '');
      const until = localTime(q.to ?? '', q.tz ?? '');
      const refuse = (text: string) =>
        v.show(
          422,
          'Export your events',
          html`<section class="card narrow"><h1>Export your events</h1><p>${text}</p>
<p><a href="/portal">Back to your endpoints</a></p></section>`,
        );
      if (!since || !until) return refuse('Give the start and the end of the period to export.');
      let r: ReturnType<typeof exportRequest>;
      try {
        r = exportRequest(v.session.tenantId, since, until, q.format === 'csv' ? 'csv' : 'jsonl');
      } catch (err) {
        if (err instanceof ApiError) return refuse('The end of the period must be after its start.');
        throw err;
      }
      return v.reply
        .code(200)
        .header('content-type', exportContentType(r.format))
        .header('content-disposition', `attachment; filename="${exportFileName(r)}"`)
        .send(exportStream(ctx.db, r));
    }),
  );
}
