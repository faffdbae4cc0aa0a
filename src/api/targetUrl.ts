// The quick check of a target URL at endpoint creation. Delivery checks the resolved
// address again (delivery/pinnedAgent.ts), since a hostname can point anywhere later.
import type { Config } from '../config.js';
import { checkUrl } from '../delivery/ssrf.js';

export function checkTargetUrl(url: string, config: Config): string | undefined {
  const r = checkUrl(url, { allow: config.allowPrivateTargets, requireHttps: config.requireHttps });
  return r.ok ? undefined : r.message;
}
