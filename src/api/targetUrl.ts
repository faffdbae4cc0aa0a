// The quick check of a target URL at endpoint creation. Delivery checks the resolved
// address again (delivery/pinnedAgent.ts), since a hostname can point anywhere later.
import type { Config } from '../config.js';
import { checkUrl } from '../delivery/ssrf.js';

export function checkTargetUrl(
  url: string,
  config: Config,
  /** Endpoint URLs pass config.destinationSchemes; other outbound URLs are http(s) only. */
  schemes: readonly string[] = ['http', 'https'],
): string | undefined {
  const r = checkUrl(url, { allow: config.allowPrivateTargets, requireHttps: config.requireHttps, schemes });
  return r.ok ? undefined : r.message;
}
