// The HTTP worker channel's wire format, every message in one file: what the agent
// (client.ts) encodes the gateway (server.ts) decodes, and the other way round, so
// the two sides cannot drift apart unnoticed (wire.test.ts round-trips each pair).
// Agents already deployed speak exactly this, so a change here is a protocol change:
// docs/worker-channel.md describes it for people.
//
// Event payloads and results travel as raw bodies with their metadata in headers, so
// nothing is re-encoded. Decoders read untrusted input and answer a WireError as a
// value: a malformed request becomes a 400, never an exception inside a server.
import { isObject } from '../parse.ts';
import type {
  FunctionErrorKind,
  Invocation,
  InvocationResult,
  ResponseStreamHead,
  WorkerIdentity,
} from './channel.ts';

export const WORKER_CHANNEL_PREFIX = '/_selfless/worker/v1/';

export const ROUTES = [
  'next',
  'cancel',
  'return',
  'stream',
  'complete',
  'init-failed',
  'leave',
] as const;
export type Route = (typeof ROUTES)[number];

/** Every route answers this, without a body, when it is done; `next` when its poll was cancelled. */
export const DONE_STATUS = 204;

/** A result carries at most a 6 MB payload (or its error document); leave headroom. */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

const H = {
  workerId: 'x-selfless-worker-id',
  functionName: 'x-selfless-function-name',
  requestId: 'x-selfless-request-id',
  functionArn: 'x-selfless-function-arn',
  deadlineMs: 'x-selfless-deadline-ms',
  clientContext: 'x-selfless-client-context',
  cognitoIdentity: 'x-selfless-cognito-identity',
  traceId: 'x-selfless-trace-id',
  logTail: 'x-selfless-log-tail',
  functionError: 'x-selfless-function-error',
  logResult: 'x-selfless-log-result',
  durationMs: 'x-selfless-duration-ms',
  billedDurationMs: 'x-selfless-billed-duration-ms',
  initDurationMs: 'x-selfless-init-duration-ms',
  maxMemoryUsedMB: 'x-selfless-max-memory-used-mb',
  pollId: 'x-selfless-poll-id',
  streamContentType: 'x-selfless-stream-content-type',
  streamed: 'x-selfless-streamed',
} as const;

/** Headers to send. */
export type OutgoingHeaders = Record<string, string>;
/** Headers as node:http hands them over: names lower-cased, repeats as arrays. */
export type IncomingHeaders = Record<string, string | string[] | undefined>;

/** One message: headers and a raw body. */
export interface Message {
  headers: OutgoingHeaders;
  body: Buffer;
}

export class WireError extends Error {
  override readonly name = 'WireError';
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: WireError };

export type InitError = { errorType: string; errorMessage: string };

const OCTETS = 'application/octet-stream';
const EMPTY = Buffer.alloc(0);

// Paths: POST <prefix><route>. A query string is not part of any route.

export function routePath(route: Route): string {
  return WORKER_CHANNEL_PREFIX + route;
}

/** undefined for a path outside the channel, so the server can leave it to others. */
export function decodeRoute(path: string): Decoded<Route> | undefined {
  if (!path.startsWith(WORKER_CHANNEL_PREFIX)) return undefined;
  const route = path.slice(WORKER_CHANNEL_PREFIX.length);
  return (ROUTES as readonly string[]).includes(route)
    ? ok(route as Route)
    : refuse(`no such route: ${route}`);
}

// Authorization: `Bearer <token>` on every request, when the routes have a token.

export function encodeAuthorization(token: string): OutgoingHeaders {
  return { Authorization: `Bearer ${token}` };
}

export function isAuthorized(headers: IncomingHeaders, token: string): boolean {
  return headers.authorization === `Bearer ${token}`;
}

// The worker's identity, on every request.

export function encodeIdentity(worker: WorkerIdentity): OutgoingHeaders {
  return { [H.workerId]: worker.workerId, [H.functionName]: worker.functionName };
}

export function decodeIdentity(headers: IncomingHeaders): Decoded<WorkerIdentity> {
  const workerId = one(headers, H.workerId);
  const functionName = one(headers, H.functionName);
  if (!workerId || !functionName) {
    return refuse(`${H.workerId} and ${H.functionName} are required`);
  }
  return ok({ workerId, functionName });
}

// next: a long poll, optionally named so that a cancel can end it.

export function encodeNext(pollId: string | undefined): Message {
  return { headers: pollId === undefined ? {} : { [H.pollId]: pollId }, body: EMPTY };
}

export function decodeNext(headers: IncomingHeaders): { pollId: string | undefined } {
  return { pollId: one(headers, H.pollId) };
}

// next's answer (200): the event as the body, its metadata in headers. Client context
// and Cognito identity are JSON text that may be non-ASCII, so they travel as base64.

export function encodeInvocation(inv: Invocation): Message {
  const headers: OutgoingHeaders = {
    'Content-Type': OCTETS,
    [H.requestId]: inv.requestId,
    [H.functionName]: inv.functionName,
    [H.functionArn]: inv.functionArn,
    [H.deadlineMs]: String(inv.deadlineMs),
    [H.logTail]: inv.logTail ? '1' : '0',
  };
  if (inv.clientContext !== undefined) headers[H.clientContext] = b64(inv.clientContext);
  if (inv.cognitoIdentity !== undefined) headers[H.cognitoIdentity] = b64(inv.cognitoIdentity);
  if (inv.traceId !== undefined) headers[H.traceId] = inv.traceId;
  return { headers, body: inv.payload };
}

export function decodeInvocation(headers: IncomingHeaders, payload: Buffer): Decoded<Invocation> {
  const requestId = text(headers, H.requestId);
  const functionName = text(headers, H.functionName);
  const functionArn = text(headers, H.functionArn);
  const deadlineMs = number(headers, H.deadlineMs, true);
  for (const v of [requestId, functionName, functionArn, deadlineMs]) {
    if (v instanceof WireError) return refuse(v);
  }
  const inv: Invocation = {
    requestId: requestId as string,
    functionName: functionName as string,
    functionArn: functionArn as string,
    payload,
    deadlineMs: deadlineMs as number,
    logTail: one(headers, H.logTail) === '1',
  };
  const cc = one(headers, H.clientContext);
  if (cc !== undefined) inv.clientContext = unb64(cc);
  const ci = one(headers, H.cognitoIdentity);
  if (ci !== undefined) inv.cognitoIdentity = unb64(ci);
  const trace = one(headers, H.traceId);
  if (trace !== undefined) inv.traceId = trace;
  return ok(inv);
}

// cancel: ends the poll of that id, or makes it end at once if it is still on its way.

export function encodeCancel(pollId: string): Message {
  return { headers: { [H.pollId]: pollId }, body: EMPTY };
}

export function decodeCancel(headers: IncomingHeaders): Decoded<{ pollId: string }> {
  const pollId = text(headers, H.pollId);
  return pollId instanceof WireError ? refuse(pollId) : ok({ pollId });
}

// return: the worker gives back an invocation it was handed and will not run.

export function encodeGiveBack(requestId: string): Message {
  return { headers: { [H.requestId]: requestId }, body: EMPTY };
}

export function decodeGiveBack(headers: IncomingHeaders): Decoded<{ requestId: string }> {
  const requestId = text(headers, H.requestId);
  return requestId instanceof WireError ? refuse(requestId) : ok({ requestId });
}

// stream: a response the runtime streams, as the (chunked) body while it is written;
// its request id and content type in headers. `complete` follows with X-Selfless-Streamed.

export function encodeStreamHead(head: ResponseStreamHead): OutgoingHeaders {
  return {
    'Content-Type': OCTETS,
    [H.requestId]: head.requestId,
    [H.streamContentType]: head.contentType,
  };
}

export function decodeStreamHead(headers: IncomingHeaders): Decoded<ResponseStreamHead> {
  const requestId = text(headers, H.requestId);
  if (requestId instanceof WireError) return refuse(requestId);
  return ok({ requestId, contentType: one(headers, H.streamContentType) || OCTETS });
}

// complete: the result payload (or error document) as the body, the rest in headers.

export function encodeResult(result: InvocationResult): Message {
  const headers: OutgoingHeaders = {
    'Content-Type': OCTETS,
    [H.requestId]: result.requestId,
    [H.durationMs]: String(result.durationMs),
    [H.billedDurationMs]: String(result.billedDurationMs),
    [H.maxMemoryUsedMB]: String(result.maxMemoryUsedMB),
  };
  if (result.functionError) headers[H.functionError] = result.functionError;
  if (result.initDurationMs !== undefined)
    headers[H.initDurationMs] = String(result.initDurationMs);
  if (result.logResult !== undefined) headers[H.logResult] = result.logResult;
  if (result.streamed) headers[H.streamed] = '1';
  return { headers, body: result.payload };
}

export function decodeResult(headers: IncomingHeaders, payload: Buffer): Decoded<InvocationResult> {
  const requestId = text(headers, H.requestId);
  if (requestId instanceof WireError) return refuse(requestId);
  const duration = number(headers, H.durationMs, true);
  const billed = number(headers, H.billedDurationMs, true);
  const memory = number(headers, H.maxMemoryUsedMB, true);
  const init = number(headers, H.initDurationMs, false);
  for (const v of [duration, billed, memory, init]) {
    if (v instanceof WireError) return refuse(v);
  }
  const result: InvocationResult = {
    requestId,
    payload,
    durationMs: duration as number,
    billedDurationMs: billed as number,
    maxMemoryUsedMB: memory as number,
  };
  const fe = one(headers, H.functionError);
  if (fe !== undefined) {
    if (fe !== 'Unhandled' && fe !== 'Handled') {
      return refuse(`${H.functionError} must be Unhandled or Handled`);
    }
    result.functionError = fe as FunctionErrorKind;
  }
  if (init !== undefined) result.initDurationMs = init as number;
  const logResult = one(headers, H.logResult);
  if (logResult !== undefined) result.logResult = logResult;
  if (one(headers, H.streamed) === '1') result.streamed = true;
  return ok(result);
}

// init-failed: JSON {errorType, errorMessage}.

export function encodeInitFailure(error: InitError): Message {
  return {
    headers: { 'Content-Type': 'application/json' },
    body: Buffer.from(JSON.stringify(error)),
  };
}

export function decodeInitFailure(body: Buffer): Decoded<InitError> {
  const refused = refuse<InitError>('body must be JSON {errorType, errorMessage}');
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return refused;
  }
  if (!isObject(doc) || typeof doc.errorType !== 'string') return refused;
  return ok({ errorType: doc.errorType, errorMessage: String(doc.errorMessage ?? '') });
}

// Errors (4xx, 5xx): JSON {message}. There is no decoder: the client reports the body
// as it came, since a proxy between agent and gateway may answer with anything.

export function encodeError(message: string): Message {
  return {
    headers: { 'Content-Type': 'application/json' },
    body: Buffer.from(JSON.stringify({ message })),
  };
}

function ok<T>(value: T): Decoded<T> {
  return { ok: true, value };
}

function refuse<T>(error: string | WireError): Decoded<T> {
  return { ok: false, error: typeof error === 'string' ? new WireError(error) : error };
}

function one(headers: IncomingHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A header that must be there and not be empty. */
function text(headers: IncomingHeaders, name: string): string | WireError {
  return one(headers, name) || new WireError(`${name} is required`);
}

/** A non-negative number, undefined when absent and not required. */
function number(
  headers: IncomingHeaders,
  name: string,
  required: boolean,
): number | undefined | WireError {
  const v = one(headers, name);
  if (v === undefined) return required ? new WireError(`${name} is required`) : undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : new WireError(`${name} must be a non-negative number`);
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function unb64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}
