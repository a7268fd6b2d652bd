// HTTP routes (`triggers: - http: {method, path}`), as API Gateway HTTP APIs call
// Lambda: the function gets a payload format 2.0 event and its result is mapped
// back to an HTTP response.
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { keyOf, type FunctionDefinition, type HttpMethod } from '../lib/function.ts';
import { BodyTooLarge, readBody } from './body.ts';
import { HttpStreamWriter } from './http-stream.ts';
import type { Account, Invoker } from './invoker.ts';
import type { GatewayMetrics } from './metrics.ts';
import { SYNC_PAYLOAD_LIMIT } from './invoke.ts';
import type { FunctionRegistry } from './registry.ts';

interface Route {
  method: HttpMethod;
  path: string;
  segments: string[];
  fn: string;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

function compile(fn: FunctionDefinition): Route[] {
  const routes: Route[] = [];
  for (const t of fn.spec.triggers) {
    if (!('http' in t)) continue;
    const segments = t.http.path.split('/').filter(Boolean);
    routes.push({ method: t.http.method, path: t.http.path, segments, fn: keyOf(fn) });
  }
  return routes;
}

/** Literal segments beat {params}, which beat {greedy+}; a method beats ANY. */
function specificity(r: Route): number[] {
  return [
    ...r.segments.map((s) => (s.endsWith('+}') ? 0 : s.startsWith('{') ? 1 : 2)),
    r.method === 'ANY' ? 0 : 1,
  ];
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? -1) - (a[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

export function matchRoute(routes: Route[], method: string, path: string): RouteMatch | undefined {
  const parts = path.split('/').filter(Boolean).map(safeDecode);
  const candidates: RouteMatch[] = [];
  for (const route of routes) {
    if (route.method !== 'ANY' && route.method !== method) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < route.segments.length && ok; i++) {
      const seg = route.segments[i]!;
      if (seg.endsWith('+}')) {
        const rest = parts.slice(i);
        if (rest.length === 0) ok = false;
        else params[seg.slice(1, -2)] = rest.join('/');
        break;
      }
      const part = parts[i];
      if (part === undefined) ok = false;
      else if (seg.startsWith('{')) params[seg.slice(1, -1)] = part;
      else if (seg !== part) ok = false;
      if (i === route.segments.length - 1 && parts.length !== route.segments.length) ok = false;
    }
    if (route.segments.length === 0 && parts.length !== 0) ok = false;
    if (ok) candidates.push({ route, params });
  }
  candidates.sort((a, b) => compare(specificity(a.route), specificity(b.route)));
  return candidates[0];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

export function clfTime(d: Date): string {
  const months = [
    'Jan',
    'Feb',
    'Mar',
    'Apr',
    'May',
    'Jun',
    'Jul',
    'Aug',
    'Sep',
    'Oct',
    'Nov',
    'Dec',
  ];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export function buildEvent(
  req: Request,
  match: RouteMatch,
  body: Buffer,
  account: Account,
  requestId: string,
) {
  const url = new URL(req.originalUrl, 'http://localhost');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies = [
        ...(cookies ?? []),
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      ];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const routeKey = `${match.route.method === 'ANY' ? 'ANY' : match.route.method} ${match.route.path}`;
  const now = new Date();
  const host = headers.host ?? 'localhost';
  const isText = TEXT_TYPES.test(headers['content-type'] ?? '');
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies && { cookies }),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(Object.keys(match.params).length > 0 && { pathParameters: match.params }),
    requestContext: {
      accountId: account.accountId,
      apiId: 'selfless',
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: {
        method: req.method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: body.length > 0 && !isText,
  };
  if (body.length > 0) event.body = isText ? body.toString('utf8') : body.toString('base64');
  return event;
}

interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

const internalError = (): HttpResponse => ({
  status: 500,
  headers: { 'content-type': 'application/json' },
  cookies: [],
  body: Buffer.from('{"message":"Internal Server Error"}'),
});

/** Maps a function's result to HTTP as API Gateway does for payload format 2.0. */
export function mapResult(payload: Buffer): HttpResponse {
  let result: unknown;
  try {
    result = JSON.parse(payload.toString('utf8'));
  } catch {
    return internalError();
  }
  const isObj = typeof result === 'object' && result !== null && !Array.isArray(result);
  if (!isObj || !('statusCode' in (result as object))) {
    // The shortcut: anything without a statusCode is a 200 JSON body.
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: payload,
    };
  }
  const r = result as Record<string, unknown>;
  const status = Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return internalError();
  const headers: Record<string, string> = {};
  if (typeof r.headers === 'object' && r.headers !== null) {
    for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = String(v);
  }
  headers['content-type'] ??= 'application/json';
  const cookies = Array.isArray(r.cookies) ? r.cookies.map(String) : [];
  let body = Buffer.alloc(0);
  if (r.body !== undefined && r.body !== null) {
    const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    body = r.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  }
  return { status, headers, cookies, body };
}

export function makeHttpRoutes(deps: {
  registry: FunctionRegistry;
  account: Account;
  invoke: Invoker;
  metrics?: GatewayMetrics;
}) {
  const { registry, account, invoke } = deps;
  let routes: Route[] = [];
  const rebuild = () => {
    routes = registry.list().flatMap(compile);
  };
  rebuild();
  registry.on('changed', rebuild);
  registry.on('removed', rebuild);

  const send = (res: Response, r: HttpResponse) => {
    res.status(r.status);
    for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
    if (r.cookies.length > 0) res.setHeader('set-cookie', r.cookies);
    res.end(r.body);
  };
  const message = (res: Response, status: number, text: string) =>
    send(res, {
      status,
      headers: { 'content-type': 'application/json' },
      cookies: [],
      body: Buffer.from(JSON.stringify({ message: text })),
    });

  return {
    routes: () => routes,
    /** Express middleware: answers requests that match a route, passes the rest on. */
    handler: async (req: Request, res: Response, next: () => void): Promise<void> => {
      const match = matchRoute(routes, req.method, req.path);
      if (!match) return next();
      const fn = registry.get(match.route.fn);
      if (!fn) return message(res, 404, 'Not Found');
      let body: Buffer;
      try {
        body = await readBody(req, SYNC_PAYLOAD_LIMIT);
      } catch (err) {
        if (err instanceof BodyTooLarge) return message(res, 413, 'Request Entity Too Large');
        throw err;
      }
      const requestId = randomUUID();
      const event = buildEvent(req, match, body, account, requestId);
      res.setHeader('apigw-requestid', requestId);
      // A function that streams its response is passed on as it writes it.
      const writer = new HttpStreamWriter(
        res,
        (head) => {
          res.status(head.status);
          for (const [k, v] of Object.entries(head.headers)) res.setHeader(k, v);
          if (head.cookies.length > 0) res.setHeader('set-cookie', head.cookies);
        },
        (n) => deps.metrics?.streamedBytes.inc({ function: match.route.fn }, n),
      );
      const outcome = await invoke(fn, {
        payload: Buffer.from(JSON.stringify(event)),
        requestId,
        onStream: (head, chunks) => writer.consume(head.contentType, chunks),
      });
      if (writer.started) {
        res.end();
        return;
      }
      if (!outcome.ok) {
        if (outcome.error.status === 429) return message(res, 429, 'Too Many Requests');
        return message(res, 500, 'Internal Server Error');
      }
      const { result } = outcome;
      if (result.functionError || (result.streamed && !writer.plainHead)) {
        return send(res, internalError());
      }
      if (result.streamed) {
        return send(res, { ...writer.plainHead!, body: Buffer.alloc(0) });
      }
      send(res, mapResult(result.payload));
    },
  };
}
