// The worker channel over HTTP, for agents in pods: `makeHttpWorkerChannel` is the
// agent's client, `makeWorkerChannelRoutes` exposes any WorkerChannel (the gateway's
// hub) under /_selfless/worker/v1/. Event payloads and results travel as raw bodies
// with their metadata in headers, so nothing is re-encoded; `next` is a long poll
// held until an invocation arrives or the agent disconnects (which aborts it).
// Wire format: docs/worker-channel.md.
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type {
  FunctionErrorKind,
  Invocation,
  InvocationResult,
  WorkerChannel,
  WorkerIdentity,
} from './worker-channel.ts';

export const WORKER_CHANNEL_PREFIX = '/_selfless/worker/v1/';

/** A result carries at most a 6 MB payload (or its error document); leave headroom. */
const MAX_BODY_BYTES = 7 * 1024 * 1024;

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
} as const;

export interface WorkerChannelRoutesOptions {
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
}

/**
 * A plain node:http handler serving `channel` under /_selfless/worker/v1/. Returns
 * false (and writes nothing) for other paths, so it composes with any server:
 * `app.use((req, res, next) => routes(req, res) || next())` under express.
 */
export function makeWorkerChannelRoutes(
  channel: WorkerChannel,
  opts: WorkerChannelRoutesOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(WORKER_CHANNEL_PREFIX)) return false;
    void serve(channel, opts, url.slice(WORKER_CHANNEL_PREFIX.length), req, res).catch(
      (err: unknown) => {
        if (!res.headersSent) {
          fail(res, 500, `the channel failed: ${err instanceof Error ? err.message : String(err)}`);
        } else res.destroy();
      },
    );
    return true;
  };
}

async function serve(
  channel: WorkerChannel,
  opts: WorkerChannelRoutesOptions,
  route: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
    req.resume();
    return fail(res, 401, 'missing or wrong bearer token');
  }
  if (!['next', 'complete', 'init-failed', 'leave'].includes(route)) {
    req.resume();
    return fail(res, 404, `no such route: ${route}`);
  }
  if (req.method !== 'POST') {
    req.resume();
    res.setHeader('Allow', 'POST');
    return fail(res, 405, 'use POST');
  }
  const workerId = one(req, H.workerId);
  const functionName = one(req, H.functionName);
  if (!workerId || !functionName) {
    req.resume();
    return fail(res, 400, `${H.workerId} and ${H.functionName} are required`);
  }
  const worker: WorkerIdentity = { workerId, functionName };
  const body = await readBody(req);
  if (!body) return fail(res, 413, `body over ${MAX_BODY_BYTES} bytes`);

  switch (route) {
    case 'next':
      return serveNext(channel, worker, req, res);
    case 'complete': {
      const result = decodeResult(req, body);
      if (typeof result === 'string') return fail(res, 400, result);
      await channel.complete(worker, result);
      return done(res);
    }
    case 'init-failed': {
      let error: { errorType: string; errorMessage: string };
      try {
        const doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        error = { errorType: String(doc.errorType), errorMessage: String(doc.errorMessage ?? '') };
        if (typeof doc.errorType !== 'string') throw new Error('errorType');
      } catch {
        return fail(res, 400, 'body must be JSON {errorType, errorMessage}');
      }
      await channel.initFailed(worker, error);
      return done(res);
    }
    case 'leave':
      await channel.leave(worker);
      return done(res);
  }
}

async function serveNext(
  channel: WorkerChannel,
  worker: WorkerIdentity,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const abort = new AbortController();
  const onClose = () => abort.abort(new DOMException('the worker disconnected', 'AbortError'));
  res.once('close', onClose);
  // The poll may idle for a long time: probes keep middleboxes from dropping it.
  req.socket.setKeepAlive(true, 30_000);
  let inv: Invocation;
  try {
    inv = await channel.next(worker, abort.signal);
  } catch (err) {
    if (abort.signal.aborted) return;
    throw err;
  }
  res.removeListener('close', onClose);
  if (res.destroyed || abort.signal.aborted) {
    // Handed out just as the agent went away: answer the caller rather than strand it.
    await channel.complete(worker, lostResult(inv));
    return;
  }
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': inv.payload.length,
    [H.requestId]: inv.requestId,
    [H.functionName]: inv.functionName,
    [H.functionArn]: inv.functionArn,
    [H.deadlineMs]: inv.deadlineMs,
    [H.logTail]: inv.logTail ? '1' : '0',
  };
  if (inv.clientContext !== undefined) headers[H.clientContext] = b64(inv.clientContext);
  if (inv.cognitoIdentity !== undefined) headers[H.cognitoIdentity] = b64(inv.cognitoIdentity);
  if (inv.traceId !== undefined) headers[H.traceId] = inv.traceId;
  res.writeHead(200, headers);
  res.end(inv.payload);
}

function lostResult(inv: Invocation): InvocationResult {
  return {
    requestId: inv.requestId,
    payload: Buffer.from(
      JSON.stringify({
        errorType: 'Sandbox.WorkerLost',
        errorMessage: `RequestId: ${inv.requestId} Error: the worker disconnected before it received the invocation`,
      }),
    ),
    functionError: 'Unhandled',
    durationMs: 0,
    billedDurationMs: 0,
    maxMemoryUsedMB: 0,
  };
}

function decodeResult(req: IncomingMessage, payload: Buffer): InvocationResult | string {
  const requestId = one(req, H.requestId);
  if (!requestId) return `${H.requestId} is required`;
  const num = (name: string, required: boolean): number | undefined | string => {
    const v = one(req, name);
    if (v === undefined) return required ? `${name} is required` : undefined;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? n : `${name} must be a non-negative number`;
  };
  const duration = num(H.durationMs, true);
  const billed = num(H.billedDurationMs, true);
  const memory = num(H.maxMemoryUsedMB, true);
  const init = num(H.initDurationMs, false);
  for (const v of [duration, billed, memory, init]) if (typeof v === 'string') return v;
  const result: InvocationResult = {
    requestId,
    payload,
    durationMs: duration as number,
    billedDurationMs: billed as number,
    maxMemoryUsedMB: memory as number,
  };
  const fe = one(req, H.functionError);
  if (fe !== undefined) {
    if (fe !== 'Unhandled' && fe !== 'Handled')
      return `${H.functionError} must be Unhandled or Handled`;
    result.functionError = fe as FunctionErrorKind;
  }
  if (init !== undefined) result.initDurationMs = init as number;
  const logResult = one(req, H.logResult);
  if (logResult !== undefined) result.logResult = logResult;
  return result;
}

export interface HttpWorkerChannelOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Retry delays on connection errors: first, then doubled up to max. */
  retryMs?: { initial: number; max: number };
  /** Attempts for complete / initFailed / leave before giving up (next retries until aborted). */
  attempts?: number;
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The agent's side: every call is one request on a keep-alive connection. */
export function makeHttpWorkerChannel(
  gatewayUrl: string,
  opts: HttpWorkerChannelOptions = {},
): WorkerChannel {
  const base = new URL(WORKER_CHANNEL_PREFIX, gatewayUrl);
  const secure = base.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, keepAliveMsecs: 30_000 })
    : new HttpAgent({ keepAlive: true, keepAliveMsecs: 30_000 });
  const send = secure ? httpsRequest : httpRequest;
  const retry = opts.retryMs ?? { initial: 100, max: 2000 };

  function once(
    route: string,
    worker: WorkerIdentity,
    headers: Record<string, string | number>,
    body: Buffer | undefined,
    signal?: AbortSignal,
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const all: Record<string, string | number> = {
        ...headers,
        [H.workerId]: worker.workerId,
        [H.functionName]: worker.functionName,
        'Content-Length': body?.length ?? 0,
      };
      if (opts.token !== undefined) all.Authorization = `Bearer ${opts.token}`;
      const req = send(
        new URL(route, base),
        { method: 'POST', agent, headers: all, signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Retries connection failures and 5xx (a gateway restarting); 4xx are final. */
  async function call(
    route: string,
    worker: WorkerIdentity,
    headers: Record<string, string | number>,
    body: Buffer | undefined,
    signal: AbortSignal | undefined,
    attempts: number,
  ): Promise<Reply> {
    let delay = retry.initial;
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        const reply = await once(route, worker, headers, body, signal);
        if (reply.status < 500) {
          if (reply.status >= 400) {
            throw new HttpStatusError(
              reply.status,
              `worker channel ${route}: ${reply.status} ${reply.body.toString('utf8')}`,
            );
          }
          return reply;
        }
        failure = new HttpStatusError(reply.status, `worker channel ${route}: ${reply.status}`);
      } catch (err) {
        if (err instanceof HttpStatusError || signal?.aborted)
          throw signal?.aborted ? abortError(signal) : err;
        failure = err;
      }
      if (attempt >= attempts) throw failure;
      await pause(delay, signal);
      if (signal?.aborted) throw abortError(signal);
      delay = Math.min(retry.max, delay * 2);
    }
  }

  const attempts = opts.attempts ?? 5;
  return {
    async next(worker, signal) {
      const reply = await call('next', worker, {}, undefined, signal, Infinity);
      const h = reply.headers;
      const get = (name: string) => {
        const v = h[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const inv: Invocation = {
        requestId: get(H.requestId)!,
        functionName: get(H.functionName)!,
        functionArn: get(H.functionArn)!,
        payload: reply.body,
        deadlineMs: Number(get(H.deadlineMs)),
        logTail: get(H.logTail) === '1',
      };
      const cc = get(H.clientContext);
      if (cc !== undefined) inv.clientContext = unb64(cc);
      const ci = get(H.cognitoIdentity);
      if (ci !== undefined) inv.cognitoIdentity = unb64(ci);
      const trace = get(H.traceId);
      if (trace !== undefined) inv.traceId = trace;
      return inv;
    },
    async complete(worker, result) {
      const headers: Record<string, string | number> = {
        'Content-Type': 'application/octet-stream',
        [H.requestId]: result.requestId,
        [H.durationMs]: result.durationMs,
        [H.billedDurationMs]: result.billedDurationMs,
        [H.maxMemoryUsedMB]: result.maxMemoryUsedMB,
      };
      if (result.functionError) headers[H.functionError] = result.functionError;
      if (result.initDurationMs !== undefined) headers[H.initDurationMs] = result.initDurationMs;
      if (result.logResult !== undefined) headers[H.logResult] = result.logResult;
      await call('complete', worker, headers, result.payload, undefined, attempts);
    },
    async initFailed(worker, error) {
      const body = Buffer.from(JSON.stringify(error));
      await call(
        'init-failed',
        worker,
        { 'Content-Type': 'application/json' },
        body,
        undefined,
        attempts,
      );
    },
    async leave(worker) {
      await call('leave', worker, {}, undefined, undefined, attempts);
      agent.destroy();
    },
  };
}

function one(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function unb64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Read to the end even when over the limit, so the 413 reaches the client.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size <= MAX_BODY_BYTES ? Buffer.concat(chunks) : undefined;
}

function fail(res: ServerResponse, status: number, message: string): void {
  const text = JSON.stringify({ message });
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function done(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError');
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, { once: true });
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      resolve();
    }
  });
}
