// Serving Function URLs on the gateway. There is no DNS per function here, so a URL
// is reached two ways: by Host `<url-id>.lambda-url.<region>.on.aws` (a wildcard DNS
// name or a proxy in front of the gateway) and by the path prefix `/_url/<url-id>/`,
// which is what the API's FunctionUrl names. The function gets a payload 2.0 event;
// its answer is mapped as Lambda maps it (BUFFERED), or streamed as the runtime
// writes it (RESPONSE_STREAM, the HttpResponseStream prelude read first).
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { keyOf } from '../../lib/function.ts';
import { BodyTooLarge, readBody } from '../body.ts';
import type { LambdaError } from '../errors.ts';
import { mapResult } from '../http-routes.ts';
import { SYNC_PAYLOAD_LIMIT } from '../invoke.ts';
import type { Account, Invoker } from '../invoker.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { FunctionRegistry } from '../registry.ts';
import { HttpStreamWriter, type HttpHead } from '../http-stream.ts';
import { CORS_HEADER, isPreflight, preflightHeaders, responseHeaders } from './cors.ts';
import { buildUrlEvent, type IamCaller } from './event.ts';
import type { FunctionUrlStore } from './store.ts';

const HOST = /^([a-z0-9]{32})\.lambda-url\.[a-z0-9-]+\.on\.aws(?::\d+)?$/i;
const PREFIX = /^\/_url\/([a-z0-9]{32})(\/.*)?$/;
/** The url-id and the path the function sees, when the request is for a URL. */
export function matchUrl(
  host: string | undefined,
  originalUrl: string,
): { id: string; rawPath: string; rawQueryString: string } | undefined {
  const q = originalUrl.indexOf('?');
  const path = q < 0 ? originalUrl : originalUrl.slice(0, q);
  const rawQueryString = q < 0 ? '' : originalUrl.slice(q + 1);
  const byHost = host ? HOST.exec(host) : null;
  if (byHost) return { id: byHost[1]!.toLowerCase(), rawPath: path || '/', rawQueryString };
  const byPath = PREFIX.exec(path);
  if (byPath) return { id: byPath[1]!, rawPath: byPath[2] ?? '/', rawQueryString };
  return undefined;
}

/** The caller of a signed request, from its Credential (the key names the account here). */
function iamCaller(req: Request, account: Account): IamCaller | undefined {
  const m = /Credential=([^/,\s]+)\//.exec(req.header('authorization') ?? '');
  return m ? { accessKey: m[1]!, accountId: account.accountId } : undefined;
}

export function makeFunctionUrlServer(deps: {
  registry: FunctionRegistry;
  account: Account;
  invoke: Invoker;
  store: FunctionUrlStore;
  metrics: GatewayMetrics;
  /** The gateway's SigV4 check; without one, AWS_IAM URLs only require a signature. */
  authenticate?: (req: Request, body: Buffer) => LambdaError | undefined;
}) {
  const { registry, account, invoke, store, metrics } = deps;

  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const match = matchUrl(req.header('host'), req.originalUrl);
    if (!match) return next();
    const entry = store.byUrlId(match.id);
    const fn = entry && registry.resolve(entry.key, entry.qualifier);
    const count = (status: number) =>
      metrics.urlRequests.inc({
        function: entry?.key ?? '',
        status: `${Math.floor(status / 100)}xx`,
      });
    const message = (status: number, text: string, extra: Record<string, string> = {}) => {
      count(status);
      res.status(status);
      for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
      res.json({ Message: text });
    };
    if (!entry || !fn) return message(404, 'Not Found');
    const cors = entry.config.cors;
    const origin = req.header('origin');
    if (cors && isPreflight(req.method, req.headers)) {
      const headers = preflightHeaders(
        cors,
        origin!,
        req.header('access-control-request-method')!,
        req.header('access-control-request-headers'),
      );
      count(200);
      res.status(200);
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      res.end();
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, SYNC_PAYLOAD_LIMIT);
    } catch (err) {
      if (err instanceof BodyTooLarge) return message(413, 'Request Entity Too Large');
      throw err;
    }
    let caller: IamCaller | undefined;
    if (entry.config.authType === 'AWS_IAM') {
      caller = iamCaller(req, account);
      const refused = deps.authenticate ? deps.authenticate(req, body) !== undefined : !caller;
      if (refused || !caller) return message(403, 'Forbidden');
    }

    const requestId = randomUUID();
    const event = buildUrlEvent({
      req,
      urlId: entry.id,
      rawPath: match.rawPath,
      rawQueryString: match.rawQueryString,
      body,
      requestId,
      ...(caller && { caller }),
    });
    res.setHeader('x-amzn-RequestId', requestId);
    const corsHeaders = cors ? responseHeaders(cors, origin) : {};
    const send = (head: HttpHead) => {
      count(head.status);
      res.status(head.status);
      for (const [k, v] of Object.entries(head.headers)) {
        if (!(cors && CORS_HEADER.test(k))) res.setHeader(k, v);
      }
      for (const [k, v] of Object.entries(corsHeaders)) res.setHeader(k, v);
      if (head.cookies.length > 0) res.setHeader('set-cookie', head.cookies);
    };

    const key = keyOf(fn);
    const writer = new HttpStreamWriter(res, send, (n) =>
      metrics.streamedBytes.inc({ function: key }, n),
    );
    const streaming = entry.config.invokeMode === 'RESPONSE_STREAM';
    const outcome = await invoke(fn, {
      payload: Buffer.from(JSON.stringify(event)),
      requestId,
      ...(streaming && {
        onStream: (head, chunks) => writer.consume(head.contentType, chunks),
      }),
    });

    if (writer.started) {
      res.end();
      return;
    }
    if (!outcome.ok) {
      if (outcome.error.status === 429) return message(429, 'Rate Exceeded.');
      return message(500, 'Internal Server Error');
    }
    if (outcome.result.functionError || (outcome.result.streamed && !writer.plainHead)) {
      return message(502, 'Internal Server Error', corsHeaders);
    }
    if (outcome.result.streamed && writer.plainHead) {
      send(writer.plainHead);
      res.end();
      return;
    }
    const mapped = mapResult(outcome.result.payload);
    send({ status: mapped.status, headers: mapped.headers, cookies: mapped.cookies });
    res.end(mapped.body);
  };
}
