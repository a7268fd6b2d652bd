// The agent's side of the HTTP worker channel, for one gateway: `makeGatewayClient`
// speaks every route (fanout.ts uses it once per replica) and `makeHttpWorkerChannel`
// is the WorkerChannel over it. Messages are encoded and decoded in wire.ts.
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type {
  Invocation,
  InvocationResult,
  ResponseStreamHead,
  WorkerChannel,
  WorkerIdentity,
} from './channel.ts';
import {
  DONE_STATUS,
  decodeInvocation,
  encodeAuthorization,
  encodeCancel,
  encodeGiveBack,
  encodeIdentity,
  encodeInitFailure,
  encodeNext,
  encodeResult,
  encodeStreamHead,
  routePath,
  type InitError,
  type Message,
  type Route,
} from './wire.ts';

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
export interface GatewayClient {
  /**
   * Long-polls; resolves undefined when the poll `pollId` was cancelled. Connection
   * failures and 5xx are retried while `keepTrying()` says so (default: always).
   */
  poll(
    worker: WorkerIdentity,
    signal: AbortSignal,
    pollId?: string,
    keepTrying?: () => boolean,
  ): Promise<Invocation | undefined>;
  cancel(worker: WorkerIdentity, pollId: string): Promise<void>;
  giveBack(worker: WorkerIdentity, requestId: string): Promise<void>;
  complete(worker: WorkerIdentity, result: InvocationResult): Promise<void>;
  /** One chunked POST while `body` is written; never retried (a stream cannot be replayed). */
  stream(
    worker: WorkerIdentity,
    head: ResponseStreamHead,
    body: AsyncIterable<Buffer>,
  ): Promise<void>;
  initFailed(worker: WorkerIdentity, error: InitError): Promise<void>;
  leave(worker: WorkerIdentity): Promise<void>;
  destroy(): void;
}

interface GatewayClientOptions extends HttpWorkerChannelOptions {
  /** The Service's host name, when `gatewayUrl` names one of its addresses (TLS, Host). */
  serviceHost?: { hostname: string; host: string };
}

const EMPTY: Message = { headers: {}, body: Buffer.alloc(0) };

/** Every call is one request on a keep-alive connection to one gateway. */
export function makeGatewayClient(gatewayUrl: string, opts: GatewayClientOptions): GatewayClient {
  const secure = new URL(gatewayUrl).protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, keepAliveMsecs: 30_000 })
    : new HttpAgent({ keepAlive: true, keepAliveMsecs: 30_000 });
  const send = secure ? httpsRequest : httpRequest;
  const retry = opts.retryMs ?? { initial: 100, max: 2000 };
  const attempts = opts.attempts ?? 5;

  function once(
    route: Route,
    worker: WorkerIdentity,
    message: Message,
    signal?: AbortSignal,
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const all: Record<string, string | number> = {
        ...message.headers,
        ...encodeIdentity(worker),
        'Content-Length': message.body.length,
        ...(opts.token !== undefined && encodeAuthorization(opts.token)),
      };
      if (opts.serviceHost) all.Host = opts.serviceHost.host;
      const req = send(
        new URL(routePath(route), gatewayUrl),
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
      req.end(message.body);
    });
  }

  function streamed(
    worker: WorkerIdentity,
    head: ResponseStreamHead,
    body: AsyncIterable<Buffer>,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        ...encodeStreamHead(head),
        ...encodeIdentity(worker),
        'Transfer-Encoding': 'chunked',
        ...(opts.token !== undefined && encodeAuthorization(opts.token)),
      };
      if (opts.serviceHost) headers.Host = opts.serviceHost.host;
      const req = send(
        new URL(routePath('stream'), gatewayUrl),
        {
          method: 'POST',
          agent,
          headers,
          ...(opts.serviceHost && { servername: opts.serviceHost.hostname }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            res.statusCode === DONE_STATUS
              ? resolve()
              : reject(
                  new HttpStatusError(
                    res.statusCode ?? 0,
                    `worker channel stream: ${res.statusCode} ${Buffer.concat(chunks).toString('utf8')}`,
                  ),
                ),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      void (async () => {
        for await (const chunk of body) {
          if (req.destroyed) continue;
          if (!req.write(chunk)) await drained(req);
        }
        req.end();
      })().catch((err: unknown) => req.destroy(err as Error));
    });
  }

  /** Retries connection failures and 5xx (a gateway restarting); 4xx are final. */
  async function call(
    route: Route,
    worker: WorkerIdentity,
    message: Message,
    signal: AbortSignal | undefined,
    attempts: number,
    keepTrying: () => boolean = () => true,
  ): Promise<Reply> {
    let delay = retry.initial;
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        const reply = await once(route, worker, message, signal);
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
      if (attempt >= attempts || !keepTrying()) throw failure;
      await pause(delay, signal);
      if (signal?.aborted) throw abortError(signal);
      delay = Math.min(retry.max, delay * 2);
    }
  }

  return {
    async poll(worker, signal, pollId, keepTrying) {
      const reply = await call('next', worker, encodeNext(pollId), signal, Infinity, keepTrying);
      if (reply.status === DONE_STATUS) return undefined;
      const inv = decodeInvocation(reply.headers, reply.body);
      if (!inv.ok) throw inv.error;
      return inv.value;
    },
    async cancel(worker, pollId) {
      await call('cancel', worker, encodeCancel(pollId), undefined, attempts);
    },
    async giveBack(worker, requestId) {
      await call('return', worker, encodeGiveBack(requestId), undefined, attempts);
    },
    async complete(worker, result) {
      await call('complete', worker, encodeResult(result), undefined, attempts);
    },
    stream: streamed,
    async initFailed(worker, error) {
      await call('init-failed', worker, encodeInitFailure(error), undefined, attempts);
    },
    async leave(worker) {
      await call('leave', worker, EMPTY, undefined, attempts);
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
    stream: (worker, head, body) => gateway.stream(worker, head, body),
    initFailed: (worker, error) => gateway.initFailed(worker, error),
    async leave(worker) {
      await gateway.leave(worker);
      gateway.destroy();
    },
  };
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError');
}

/** Resolves when a request can take more bytes, or has gone. */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
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
