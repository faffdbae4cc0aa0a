// Response headers of every portal response. The policy allows only our own scripts, styles
// and forms; framing only by the origins the operator listed (TIDINGS_PORTAL_FRAME_ANCESTORS).
import type { PortalSettings } from '../config/portal.js';

export function portalHeaders(s: PortalSettings): Record<string, string> {
  const img = ["'self'", 'data:'];
  if (s.logoUrl && /^https?:\/\//.test(s.logoUrl)) img.push(new URL(s.logoUrl).origin);
  const ancestors = s.frameAncestors.length > 0 ? s.frameAncestors.join(' ') : "'none'";
  const headers: Record<string, string> = {
    'content-security-policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      `img-src ${img.join(' ')}`,
      "connect-src 'self'",
      "form-action 'self'",
      "base-uri 'none'",
      `frame-ancestors ${ancestors}`,
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  };
  // Browsers too old for frame-ancestors read this instead; it cannot name a list, so it
  // only says no, and is left out when some framing is allowed.
  if (s.frameAncestors.length === 0) headers['x-frame-options'] = 'DENY';
  return headers;
}
