// The worker channel over HTTP, for agents in pods: `makeHttpWorkerChannel` is the
// agent's client, `makeWorkerChannelRoutes` exposes any WorkerChannel (the gateway's
// hub) under /_selfless/worker/v1/. Event payloads and results travel as raw bodies
// with their metadata in headers, so nothing is re-encoded; `next` is a long poll
// held until an invocation arrives, the agent cancels it, or it disconnects.
// `makeMultiGatewayChannel` polls every gateway replica at once and keeps the
// first invocation (cancelling, and giving back, the rest).
// Wire format: docs/worker-channel.md.
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
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
  pollId: 'x-selfless-poll-id',
} as const;

const ROUTES = ['next', 'cancel', 'return', 'complete', 'init-failed', 'leave'];

/** How long a cancel that arrived before its poll is remembered. */
const EARLY_CANCEL_TTL_MS = 60_000;

/** The polls of one routes instance that can be cancelled, by worker id. */
class Polls {
  private readonly parked = new Map<string, { pollId: string; cancel(): void }>();
  private readonly early = new Map<string, { pollId: string; timer: NodeJS.Timeout }>();

  /** Registers a parked poll; false when its cancel already arrived. */
  park(workerId: string, pollId: string, cancel: () => void): boolean {
    const e = this.early.get(workerId);
    if (e?.pollId === pollId) {
      this.forget(workerId);
      return false;
    }
    this.parked.set(workerId, { pollId, cancel });
    return true;
  }

  unpark(workerId: string, pollId: string): void {
    if (this.parked.get(workerId)?.pollId === pollId) this.parked.delete(workerId);
  }

  /** Cancels the poll, or remembers the cancel for a poll still on its way. */
  cancel(workerId: string, pollId: string): void {
    const p = this.parked.get(workerId);
    if (p?.pollId === pollId) {
      p.cancel();
      return;
    }
    this.forget(workerId);
    const timer = setTimeout(() => this.forget(workerId), EARLY_CANCEL_TTL_MS);
    timer.unref();
    this.early.set(workerId, { pollId, timer });
  }

  forget(workerId: string): void {
    clearTimeout(this.early.get(workerId)?.timer);
    this.early.delete(workerId);
  }
}

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
  const polls = new Polls();
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith(WORKER_CHANNEL_PREFIX)) return false;
    void serve(channel, opts, polls, url.slice(WORKER_CHANNEL_PREFIX.length), req, res).catch(
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
  polls: Polls,
  route: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) {
    req.resume();
    return fail(res, 401, 'missing or wrong bearer token');
  }
  if (!ROUTES.includes(route)) {
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

  const pollId = one(req, H.pollId);
  switch (route) {
    case 'next':
      return serveNext(channel, worker, pollId, polls, req, res);
    case 'cancel':
      if (!pollId) return fail(res, 400, `${H.pollId} is required`);
      polls.cancel(workerId, pollId);
      return done(res);
    case 'return': {
      const requestId = one(req, H.requestId);
      if (!requestId) return fail(res, 400, `${H.requestId} is required`);
      if (!channel.giveBack) return fail(res, 501, 'this gateway cannot take invocations back');
      await channel.giveBack(worker, requestId);
      return done(res);
    }
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
      polls.forget(workerId);
      await channel.leave(worker);
      return done(res);
  }
}

async function serveNext(
  channel: WorkerChannel,
  worker: WorkerIdentity,
  pollId: string | undefined,
  polls: Polls,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const abort = new AbortController();
  let disconnected = false;
  const onClose = () => {
    disconnected = true;
    abort.abort(new DOMException('the worker disconnected', 'AbortError'));
  };
  // A cancelled poll answers 204. Aborting unparks the worker in the same turn of
  // the event loop, so an invocation is either still queued or already handed out
  // (and then sent below: the agent gives it back).
  const cancel = () => abort.abort(new DOMException('the poll was cancelled', 'AbortError'));
  if (pollId !== undefined && !polls.park(worker.workerId, pollId, cancel)) return done(res);
  res.once('close', onClose);
  // The poll may idle for a long time: probes keep middleboxes from dropping it.
  req.socket.setKeepAlive(true, 30_000);
  let inv: Invocation;
  try {
    inv = await channel.next(worker, abort.signal);
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    if (!disconnected) done(res);
    return;
  } finally {
    if (pollId !== undefined) polls.unpark(worker.workerId, pollId);
  }
  res.removeListener('close', onClose);
  if (disconnected || res.destroyed) {
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

/** One gateway replica, as an agent sees it. */
interface GatewayClient {
  /** Long-polls; resolves undefined when the poll `pollId` was cancelled. */
  poll(
    worker: WorkerIdentity,
    signal: AbortSignal,
    pollId?: string,
  ): Promise<Invocation | undefined>;
  cancel(worker: WorkerIdentity, pollId: string): Promise<void>;
  giveBack(worker: WorkerIdentity, requestId: string): Promise<void>;
  complete(worker: WorkerIdentity, result: InvocationResult): Promise<void>;
  initFailed(
    worker: WorkerIdentity,
    error: { errorType: string; errorMessage: string },
  ): Promise<void>;
  leave(worker: WorkerIdentity): Promise<void>;
  destroy(): void;
}

interface GatewayClientOptions extends HttpWorkerChannelOptions {
  /** The Service's host name, when `gatewayUrl` names one of its addresses (TLS, Host). */
  serviceHost?: { hostname: string; host: string };
}

/** Every call is one request on a keep-alive connection to one gateway. */
function makeGatewayClient(gatewayUrl: string, opts: GatewayClientOptions): GatewayClient {
  const base = new URL(WORKER_CHANNEL_PREFIX, gatewayUrl);
  const secure = base.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, keepAliveMsecs: 30_000 })
    : new HttpAgent({ keepAlive: true, keepAliveMsecs: 30_000 });
  const send = secure ? httpsRequest : httpRequest;
  const retry = opts.retryMs ?? { initial: 100, max: 2000 };
  const attempts = opts.attempts ?? 5;

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
      if (opts.serviceHost) all.Host = opts.serviceHost.host;
      const req = send(
        new URL(route, base),
        {
          method: 'POST',
          agent,
          headers: all,
          signal,
          ...(opts.serviceHost && { servername: opts.serviceHost.hostname }),
        },
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

  return {
    async poll(worker, signal, pollId) {
      const headers: Record<string, string> = pollId === undefined ? {} : { [H.pollId]: pollId };
      const reply = await call('next', worker, headers, undefined, signal, Infinity);
      if (reply.status === 204) return undefined;
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
    async cancel(worker, pollId) {
      await call('cancel', worker, { [H.pollId]: pollId }, undefined, undefined, attempts);
    },
    async giveBack(worker, requestId) {
      await call('return', worker, { [H.requestId]: requestId }, undefined, undefined, attempts);
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
    },
    destroy() {
      agent.destroy();
    },
  };
}

/** The agent's side for one gateway URL. */
export function makeHttpWorkerChannel(
  gatewayUrl: string,
  opts: HttpWorkerChannelOptions = {},
): WorkerChannel {
  const gateway = makeGatewayClient(gatewayUrl, opts);
  return {
    async next(worker, signal) {
      // Nothing cancels a poll without a poll id: a 204 here would be a gateway bug.
      for (;;) {
        const inv = await gateway.poll(worker, signal);
        if (inv) return inv;
      }
    },
    complete: (worker, result) => gateway.complete(worker, result),
    initFailed: (worker, error) => gateway.initFailed(worker, error),
    async leave(worker) {
      await gateway.leave(worker);
      gateway.destroy();
    },
  };
}

export interface MultiGatewayOptions extends HttpWorkerChannelOptions {
  /** How often a host name is resolved again, in ms (default 5000). */
  refreshMs?: number;
  /** Host name -> addresses; default node:dns `lookup(host, { all: true })`. */
  resolve?: (hostname: string) => Promise<string[]>;
  /** Channel trouble that does not fail a call: DNS errors, invocations given back. */
  log?: (line: string) => void;
}

interface Replica {
  client: GatewayClient;
  /** Settles when this worker's last poll of the replica (and its give-back) is over. */
  idle: Promise<void>;
}

/**
 * The agent's side for several gateway replicas: `next` long-polls every replica at
 * once and keeps the first invocation; the other polls are cancelled explicitly,
 * and an invocation a replica handed out in the meantime is given back to it (it
 * goes back to the head of that replica's queue). `complete` goes to the replica
 * that delivered the request, `initFailed` and `leave` to all.
 *
 * `gateways` is a fixed list of URLs, or one URL whose host name is resolved to all
 * its addresses every `refreshMs` (a headless Service: one address per ready pod).
 * An IP address or `localhost` is used as is.
 */
export function makeMultiGatewayChannel(
  gateways: string | string[],
  opts: MultiGatewayOptions = {},
): WorkerChannel {
  const log = opts.log ?? (() => undefined);
  const replicas = new Map<string, Replica>();
  /** Which replica delivered each request in flight. */
  const owner = new Map<string, GatewayClient>();
  const watchers = new Set<() => void>();
  let urls: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let first: Promise<void> | undefined;
  let dnsFailing = false;

  const service = typeof gateways === 'string' ? new URL(gateways) : undefined;
  const fanOut =
    service !== undefined &&
    isIP(service.hostname.replace(/^\[|\]$/g, '')) === 0 &&
    service.hostname !== 'localhost';
  if (!fanOut) setUrls(typeof gateways === 'string' ? [gateways] : gateways);

  function setUrls(next: string[]): void {
    const changed = next.length !== urls.length || next.some((u, i) => u !== urls[i]);
    urls = next;
    for (const url of next) {
      if (replicas.has(url)) continue;
      const serviceHost = fanOut ? { hostname: service!.hostname, host: service!.host } : undefined;
      replicas.set(url, {
        client: makeGatewayClient(url, serviceHost ? { ...opts, serviceHost } : opts),
        idle: Promise.resolve(),
      });
    }
    if (changed) for (const w of watchers) w();
  }

  async function refresh(): Promise<void> {
    const s = service!;
    try {
      const found = await (opts.resolve ?? lookupAll)(s.hostname);
      const port = s.port || (s.protocol === 'https:' ? '443' : '80');
      setUrls(
        [...new Set(found)]
          .sort()
          .map((a) => `${s.protocol}//${a.includes(':') ? `[${a}]` : a}:${port}`),
      );
      dnsFailing = false;
    } catch (err) {
      // Keep the last answer: a Service with no ready pod is NXDOMAIN for a moment.
      if (!dnsFailing) log(`[selfless agent] cannot resolve ${s.hostname}: ${message(err)}`);
      dnsFailing = true;
    }
  }

  function resolved(): Promise<void> {
    if (!fanOut) return Promise.resolve();
    if (!first) {
      first = refresh();
      timer = setInterval(() => void refresh(), opts.refreshMs ?? 5000);
      timer.unref();
    }
    return first;
  }

  function round(worker: WorkerIdentity, signal: AbortSignal): Promise<Invocation> {
    const pollId = randomUUID();
    interface Poll {
      client: GatewayClient;
      stop: AbortController;
      sent: boolean;
      withdrawn: boolean;
      ended: boolean;
    }
    return new Promise((resolve, reject) => {
      const polls = new Map<string, Poll>();
      let closed = false;
      let failure: unknown;

      const withdraw = (p: Poll) => {
        p.withdrawn = true;
        // Never sent: it sees `withdrawn` and does not start. Otherwise ask the
        // replica to end it; dropping the connection is the fallback for a replica
        // that cannot be reached (it answers a late hand-out as lost).
        if (p.sent && !p.ended) p.client.cancel(worker, pollId).catch(() => p.stop.abort());
      };
      const close = () => {
        closed = true;
        watchers.delete(onChange);
        signal.removeEventListener('abort', onAbort);
        for (const p of polls.values()) if (!p.withdrawn) withdraw(p);
      };
      const onAbort = () => {
        close();
        reject(abortError(signal));
      };
      const start = (url: string) => {
        if (polls.has(url)) return;
        const replica = replicas.get(url)!;
        const p: Poll = {
          client: replica.client,
          stop: new AbortController(),
          sent: false,
          withdrawn: false,
          ended: false,
        };
        polls.set(url, p);
        const run = async () => {
          // One poll per worker and replica: wait for the previous round's to end.
          await replica.idle;
          if (closed || p.withdrawn) return;
          p.sent = true;
          let inv: Invocation | undefined;
          try {
            inv = await p.client.poll(worker, p.stop.signal, pollId);
          } catch (err) {
            if (!p.stop.signal.aborted) failure = err;
            return;
          }
          if (!inv) return;
          if (!closed) {
            p.ended = true;
            owner.set(inv.requestId, p.client);
            close();
            resolve(inv);
            return;
          }
          log(`[selfless agent] giving ${inv.requestId} back to ${url}`);
          await p.client
            .giveBack(worker, inv.requestId)
            .catch((err: unknown) =>
              log(`[selfless agent] could not give ${inv.requestId} back: ${message(err)}`),
            );
        };
        replica.idle = run().finally(() => {
          p.ended = true;
          // Every replica refused the worker (4xx): the agent backs off and asks again.
          const open = [...polls.values()].some((q) => !q.ended);
          if (!closed && !open && failure !== undefined) {
            close();
            reject(failure);
          }
        });
      };
      const onChange = () => {
        for (const url of urls) start(url);
        for (const [url, p] of polls) if (!urls.includes(url) && !p.withdrawn) withdraw(p);
      };
      if (signal.aborted) {
        reject(abortError(signal));
        return;
      }
      watchers.add(onChange);
      signal.addEventListener('abort', onAbort, { once: true });
      onChange();
    });
  }

  /** Every current replica; fails only when all of them failed. */
  async function toAll(call: (c: GatewayClient) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(urls.map((u) => call(replicas.get(u)!.client)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0 && failed.length === results.length) throw failed[0]!.reason;
  }

  return {
    async next(worker, signal) {
      await resolved();
      return round(worker, signal);
    },
    async complete(worker, result) {
      const client = owner.get(result.requestId);
      owner.delete(result.requestId);
      if (!client) throw new Error(`no gateway replica delivered ${result.requestId}`);
      await client.complete(worker, result);
    },
    initFailed: (worker, error) => toAll((c) => c.initFailed(worker, error)),
    async leave(worker) {
      clearInterval(timer);
      // Give-backs first: after leave a replica fails what the worker still holds.
      await Promise.all([...replicas.values()].map((r) => r.idle));
      try {
        await toAll((c) => c.leave(worker));
      } finally {
        for (const r of replicas.values()) r.client.destroy();
      }
    },
  };
}

async function lookupAll(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true })).map((a) => a.address);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
