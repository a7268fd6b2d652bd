// The event a Function URL hands its function: payload format 2.0 as Lambda's URLs
// write it (routeKey and stage `$default`, the url-id as apiId and domainPrefix,
// accountId `anonymous` without IAM, the caller in authorizer.iam with it).
import type { Request } from 'express';
import { TEXT_TYPES, clfTime } from '../http-routes.ts';

export interface IamCaller {
  accessKey: string;
  accountId: string;
}

export function buildUrlEvent(opts: {
  req: Request;
  urlId: string;
  rawPath: string;
  rawQueryString: string;
  body: Buffer;
  requestId: string;
  caller?: IamCaller;
  now?: Date;
}) {
  const { req, body } = opts;
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      const found = value
        .split(';')
        .map((c) => c.trim())
        .filter(Boolean);
      cookies = [...(cookies ?? []), ...found];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(opts.rawQueryString)) {
    query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  }
  const now = opts.now ?? new Date();
  const isText = TEXT_TYPES.test(headers['content-type'] ?? '');
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: '$default',
    rawPath: opts.rawPath,
    rawQueryString: opts.rawQueryString,
    ...(cookies && { cookies }),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    requestContext: {
      accountId: opts.caller?.accountId ?? 'anonymous',
      apiId: opts.urlId,
      ...(opts.caller && {
        authorizer: {
          iam: {
            accessKey: opts.caller.accessKey,
            accountId: opts.caller.accountId,
            callerId: opts.caller.accessKey,
            cognitoIdentity: null,
            principalOrgId: null,
            userArn: `arn:aws:iam::${opts.caller.accountId}:user/${opts.caller.accessKey}`,
            userId: opts.caller.accessKey,
          },
        },
      }),
      domainName: headers.host ?? 'localhost',
      domainPrefix: opts.urlId,
      http: {
        method: req.method,
        path: opts.rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: opts.requestId,
      routeKey: '$default',
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: body.length > 0 && !isText,
  };
  if (body.length > 0) event.body = isText ? body.toString('utf8') : body.toString('base64');
  return event;
}
