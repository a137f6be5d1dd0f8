// What keeps the local web view to the one person who started it: a loopback-only listener, a
// token nobody can guess in every URL, and headers that let the page load nothing from elsewhere.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** 32 random bytes, URL-safe: the page's URLs carry it as their first path segment. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether `given` is the token, compared in constant time: both sides are hashed first, so neither
 * the comparison's time nor a length check tells an attacker how much of a guess was right.
 */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(a, b) && given.length === token.length;
}

/** Only the server's own resources: no inline script or style, no other origin, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The headers every answer carries, whatever its kind. */
export function securityHeaders(contentType: string): OutgoingHttpHeaders {
  return {
    'content-type': contentType,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    // The token is in the URL: no Referer may carry it anywhere, and nothing is kept in caches.
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

/**
 * Whether a state-changing request comes from the page itself. Browsers send Sec-Fetch-Site and
 * Origin with a fetch POST; a request from another site (a form or a script elsewhere that learnt
 * the URL) carries either another origin or `cross-site`, and is refused. A request with neither
 * header is not from a browser page at all, and the token alone admits it.
 */
export function sameOrigin(headers: IncomingHttpHeaders, ownOrigin: string): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = headers.origin;
  if (origin !== undefined && origin !== ownOrigin) return false;
  return true;
}
