// CORS as Lambda applies a Function URL's Cors configuration: a preflight (OPTIONS
// with Origin and Access-Control-Request-Method) is answered by the gateway without
// invoking the function; other responses to an allowed origin get the CORS headers,
// replacing any the function set. An origin that is not allowed gets none.
import type { Cors } from './config.ts';

function originAllowed(cors: Cors, origin: string): boolean {
  const list = cors.allowOrigins ?? [];
  return list.includes('*') || list.some((o) => o.toLowerCase() === origin.toLowerCase());
}

function allowOrigin(cors: Cors, origin: string): string {
  const list = cors.allowOrigins ?? [];
  // With credentials a browser refuses `*`: the origin itself is named.
  return list.includes('*') && !cors.allowCredentials ? '*' : origin;
}

export function isPreflight(method: string, headers: Record<string, unknown>): boolean {
  return (
    method === 'OPTIONS' &&
    typeof headers.origin === 'string' &&
    typeof headers['access-control-request-method'] === 'string'
  );
}

/** The headers of a preflight's answer (200, empty body). */
export function preflightHeaders(
  cors: Cors,
  origin: string,
  requestMethod: string,
  requestHeaders: string | undefined,
): Record<string, string> {
  if (!originAllowed(cors, origin)) return {};
  const out: Record<string, string> = { 'access-control-allow-origin': allowOrigin(cors, origin) };
  const methods = cors.allowMethods ?? [];
  if (methods.includes('*') || methods.includes(requestMethod.toUpperCase())) {
    out['access-control-allow-methods'] = methods.includes('*')
      ? requestMethod.toUpperCase()
      : methods.join(',');
  }
  const allowHeaders = cors.allowHeaders ?? [];
  if (allowHeaders.length > 0) {
    out['access-control-allow-headers'] = allowHeaders.includes('*')
      ? (requestHeaders ?? '*')
      : allowHeaders.join(',');
  }
  if (cors.allowCredentials) out['access-control-allow-credentials'] = 'true';
  if (cors.maxAge !== undefined) out['access-control-max-age'] = String(cors.maxAge);
  out.vary = 'Origin';
  return out;
}

/** The headers added to an actual response for a request from `origin`. */
export function responseHeaders(cors: Cors, origin: string | undefined): Record<string, string> {
  if (origin === undefined || !originAllowed(cors, origin)) return {};
  const out: Record<string, string> = { 'access-control-allow-origin': allowOrigin(cors, origin) };
  if (cors.exposeHeaders && cors.exposeHeaders.length > 0) {
    out['access-control-expose-headers'] = cors.exposeHeaders.join(',');
  }
  if (cors.allowCredentials) out['access-control-allow-credentials'] = 'true';
  out.vary = 'Origin';
  return out;
}

/** Lower-cased names of the CORS headers, which the configuration's replace. */
export const CORS_HEADER = /^access-control-/i;
