// AWS Signature Version 4 for any service (the gateway checks `lambda`, the table
// service `dynamodb`). Verification rebuilds the canonical request the way the AWS
// SDKs build it, derives the signing key from the secret of the access key, and
// compares signatures in constant time. Failures carry the DynamoDB error type and a
// `reason` so each service can map them to its own names. Signing builds the same
// canonical request, so what one component signs the other verifies by one rule.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface SigV4Request {
  method: string;
  /** Path and query exactly as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type SigV4Failure =
  'missing' | 'malformed' | 'unknown-key' | 'wrong-scope' | 'expired' | 'bad-signature';

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string }
  | { ok: false; reason: SigV4Failure; type: string; message: string; status: number };

export interface SigV4Options {
  /** Secret of each access key id. */
  credentials: Record<string, string>;
  service: string;
  now?: () => number;
  /** Allowed clock difference, 15 minutes like AWS. */
  maxSkewMs?: number;
}

const fail = (reason: SigV4Failure, type: string, message: string): SigV4Result => ({
  ok: false,
  reason,
  type,
  message,
  status: 400,
});

const invalidSignature = () =>
  fail(
    'bad-signature',
    'InvalidSignatureException',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  );

function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** The SDKs normalise the path and encode it once more (all services but S3). */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const normalized =
    (path.startsWith('/') ? '/' : '') +
    segments.join('/') +
    (segments.length > 0 && path.endsWith('/') ? '/' : '');
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      const k = decodeURIComponent((i < 0 ? p : p.slice(0, i)).replace(/\+/g, ' '));
      const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1).replace(/\+/g, ' '));
      return [escapeUri(k), escapeUri(v)] as const;
    })
    .filter(([k]) => k !== 'X-Amz-Signature');
  pairs.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  return s.trim().replace(/\s+/g, ' ');
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) =>
  createHmac('sha256', key).update(data).digest();

const authPattern =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

/** "20240102T030405Z" -> epoch ms, NaN when malformed. */
function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function signatureOf(
  secret: string,
  amzDate: string,
  region: string,
  service: string,
  canonicalRequest: string,
): Buffer {
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
  return hmac(key, stringToSign);
}

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SigV4SignOptions {
  credentials: SigV4Credentials;
  region: string;
  service: string;
  now?: () => number;
}

/**
 * The headers that sign a request as the AWS SDKs do: `headers` plus `x-amz-date`,
 * `x-amz-content-sha256` and `authorization`, every one of them and `host` (taken
 * from the URL, as fetch sends it) signed.
 */
export function signSigV4(
  req: { method: string; url: URL; headers: Record<string, string>; body: string | Buffer },
  opts: SigV4SignOptions,
): Record<string, string> {
  const amzDate = new Date((opts.now ?? Date.now)()).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const payloadHash = sha256(req.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = payloadHash;
  const signed: Record<string, string> = { ...headers, host: req.url.host };
  const names = Object.keys(signed).sort();
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(req.url.pathname),
    canonicalQuery(req.url.search.slice(1)),
    names.map((h) => `${h}:${headerValue(signed[h])}\n`).join(''),
    names.join(';'),
    payloadHash,
  ].join('\n');
  const sig = signatureOf(
    opts.credentials.secretAccessKey,
    amzDate,
    opts.region,
    opts.service,
    canonicalRequest,
  );
  const scope = `${amzDate.slice(0, 8)}/${opts.region}/${opts.service}/aws4_request`;
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig.toString('hex')}`;
  return headers;
}

export function verifySigV4(req: SigV4Request, opts: SigV4Options): SigV4Result {
  const auth = headerValue(req.headers.authorization);
  if (!auth) {
    return fail(
      'missing',
      'MissingAuthenticationTokenException',
      'Request is missing Authentication Token',
    );
  }
  const m = authPattern.exec(auth);
  if (!m) {
    return fail(
      'malformed',
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${auth}`,
    );
  }
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const secret = Object.hasOwn(opts.credentials, accessKeyId!)
    ? opts.credentials[accessKeyId!]
    : undefined;
  if (secret === undefined) {
    return fail(
      'unknown-key',
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }
  if (service !== opts.service) {
    return fail(
      'wrong-scope',
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${opts.service}'.`,
    );
  }
  const amzDate = headerValue(req.headers['x-amz-date']);
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt) || amzDate.slice(0, 8) !== date) {
    return fail(
      'malformed',
      'IncompleteSignatureException',
      'Date must be in ISO-8601 basic format and match the credential scope.',
    );
  }
  const now = (opts.now ?? Date.now)();
  const skew = opts.maxSkewMs ?? 15 * 60 * 1000;
  if (Math.abs(now - signedAt) > skew) {
    return fail(
      'expired',
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${new Date(now - skew).toISOString().replace(/[-:]|\.\d{3}/g, '')}`,
    );
  }

  const headerNames = signedHeaders!.split(';');
  if (!headerNames.includes('host')) return invalidSignature();
  const canonicalHeaders = headerNames.map((h) => `${h}:${headerValue(req.headers[h])}\n`).join('');
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  // The body is always hashed here: a claimed x-amz-content-sha256 must match it.
  const payloadHash = sha256(req.body);
  const claimed = headerValue(req.headers['x-amz-content-sha256']);
  if (claimed && claimed !== payloadHash) return invalidSignature();
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalPath(path),
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const expected = signatureOf(secret, amzDate, region!, service!, canonicalRequest);
  const given = Buffer.from(signature!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return invalidSignature();
  return { ok: true, accessKeyId: accessKeyId!, region: region! };
}
