// The portal's own files: one style sheet, one script, and the operator's accent colour as
// a tiny generated style sheet (the policy allows no inline styles). Read once at start.
import { readFileSync } from 'node:fs';
import type { App } from '../api/context.js';
import type { PortalSettings } from '../config/portal.js';

const ASSETS_DIR = new URL('./assets/', import.meta.url);

interface Asset {
  type: string;
  body: string;
}

function loadAssets(settings: PortalSettings): Map<string, Asset> {
  const read = (name: string) => readFileSync(new URL(name, ASSETS_DIR), 'utf8');
  return new Map<string, Asset>([
    ['portal.css', { type: 'text/css; charset=utf-8', body: read('portal.css') }],
    ['portal.js', { type: 'text/javascript; charset=utf-8', body: read('portal.js') }],
    // The accent was checked to be #rgb or #rrggbb when the configuration was read.
    ['theme.css', { type: 'text/css; charset=utf-8', body: `:root { --accent: ${settings.accent}; }\n` }],
  ]);
}

export function assetRoutes(app: App, settings: PortalSettings): void {
  const assets = loadAssets(settings);
  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const a = assets.get(req.params.name);
    if (!a) return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
    return reply.type(a.type).header('cache-control', 'no-cache').send(a.body);
  });
}
