// The Lambda Runtime API (2018-06-01) that one runtime process talks to, on loopback.
// One server per agent, kept across runtime restarts (the port stays the same);
// `reset` starts a new runtime session and drops every connection of the old one,
// so a killed runtime's late request can never answer a new invocation. A runtime
// in another container (`external`) cannot be killed: its session is reset without
// dropping connections, its late answer for the old id is refused (400), and a
// `next` it already parked (a restarted runtime) starts the new session at once.
//
// States follow the Runtime Interface Emulator: before the first `next` only
// `init/error` is allowed; after an init error nothing is; afterwards `response`
// and `error` are accepted once, for an invocation the runtime was handed. With
// `maxConcurrency` above 1 (Lambda Managed Instances) the runtime may park that many
// `next` polls at once and hold that many invocations.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Invocation } from '../worker-channel/channel.ts';

/** Lambda's limit for a synchronous response: 6 MB plus 100 bytes of framing. */
export const MAX_RESPONSE_BYTES = 6_291_556;

export interface RuntimeError {
  errorType: string;
  errorMessage: string;
}

/** What the runtime said; the agent decides what it means. */
export interface RuntimeSession {
  /** First `next`: the runtime finished its init. */
  ready(): void;
  initError(error: RuntimeError): void;
  response(requestId: string, body: Buffer): void;
  error(requestId: string, body: Buffer): void;
  responseTooLarge(requestId: string, size: number): void;
  /**
   * The runtime answers in streaming mode: `body` yields its bytes as they arrive,
   * and the returned promise settles once `body` has been read to its end. Without
   * this hook a streamed response is read whole, like any other.
   */
  stream?(requestId: string, contentType: string, body: AsyncIterable<Buffer>): Promise<void>;
  /** A streamed response ended without error trailers. */
  streamEnd?(requestId: string): void;
}

type Phase = 'init' | 'init-error' | 'running';

const PREFIX = '/2018-06-01/runtime/';
const ROUTE = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;

export class RuntimeApi {
  private phase: Phase = 'init';
  private session: RuntimeSession | undefined;
  /** Parked `next` long-polls, oldest first. */
  private polls: ServerResponse[] = [];
  /** Handed to us before the runtime asked for them. */
  private queued: Invocation[] = [];
  /** Invocations the runtime holds and has not answered. */
  private current = new Set<string>();
  /** Invocations written to the runtime that the agent has not finished with. */
  private handedOver = new Set<string>();
  /** Invocations an external runtime held when its session was reset. */
  private stale = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly address: string,
    private readonly maxConcurrency: number,
  ) {}

  /**
   * Listens on `address` (`host:port`), by default a free port on 127.0.0.1, for a
   * runtime taking up to `maxConcurrency` invocations at once.
   */
  static async start(address = '127.0.0.1:0', maxConcurrency = 1): Promise<RuntimeApi> {
    const at = address.lastIndexOf(':');
    const host = address.slice(0, at).replace(/^\[|\]$/g, '');
    const wanted = Number(address.slice(at + 1));
    const server = createServer();
    // The runtime's connection idles while user code runs, for up to 900 s, and a
    // `next` waits without limit: no server-side timeouts may cut either.
    server.keepAliveTimeout = 0;
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(wanted, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const api = new RuntimeApi(
      server,
      `${host.includes(':') ? `[${host}]` : host}:${port}`,
      maxConcurrency,
    );
    server.on('request', (req: IncomingMessage, res: ServerResponse) => api.handle(req, res));
    return api;
  }

  /** A new runtime process is about to start (or, `external`, to be restarted by others). */
  reset(session: RuntimeSession, external = false): void {
    const carried = external ? this.polls.filter((p) => !p.destroyed) : [];
    if (external) this.stale = new Set([...this.current, ...this.handedOver]);
    else this.server.closeAllConnections();
    this.phase = carried.length > 0 ? 'running' : 'init';
    this.session = session;
    this.polls = carried;
    this.queued = [];
    this.current = new Set();
    this.handedOver = new Set();
    // After the caller has wired the session up: this runtime already asked for work.
    if (carried.length > 0) queueMicrotask(() => this.session === session && session.ready());
  }

  /** Whether the runtime received this invocation (it was written to its `next`). */
  received(requestId: string): boolean {
    return this.handedOver.has(requestId);
  }

  /** The agent is done with this invocation (answered, timed out, or lost). */
  finished(requestId: string): void {
    this.handedOver.delete(requestId);
  }

  /** Hands an invocation to the runtime now, or at one of its next `next`s. */
  deliver(invocation: Invocation): void {
    for (;;) {
      const poll = this.polls.shift();
      if (!poll) break;
      if (poll.destroyed) continue;
      this.send(poll, invocation);
      return;
    }
    this.queued.push(invocation);
  }

  async close(): Promise<void> {
    this.session = undefined;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(res: ServerResponse, inv: Invocation): void {
    this.current.add(inv.requestId);
    this.handedOver.add(inv.requestId);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': inv.payload.length,
      'Lambda-Runtime-Aws-Request-Id': inv.requestId,
      'Lambda-Runtime-Deadline-Ms': inv.deadlineMs,
      'Lambda-Runtime-Invoked-Function-Arn': inv.functionArn,
    };
    if (inv.traceId) headers['Lambda-Runtime-Trace-Id'] = inv.traceId;
    if (inv.clientContext) headers['Lambda-Runtime-Client-Context'] = inv.clientContext;
    if (inv.cognitoIdentity) headers['Lambda-Runtime-Cognito-Identity'] = inv.cognitoIdentity;
    res.writeHead(200, headers);
    res.end(inv.payload);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const session = this.session;
    const url = req.url ?? '';
    if (!session || !url.startsWith(PREFIX)) {
      reply(res, 404, { errorMessage: 'Not found', errorType: 'NotFound' });
      return;
    }
    if (url === `${PREFIX}invocation/next` && req.method === 'GET') {
      this.next(session, req, res);
      return;
    }
    // A restored environment (SnapStart) reports a failed after-restore hook on
    // restore/error: to the agent it is a failed init, as on Lambda.
    if (
      (url === `${PREFIX}init/error` || url === `${PREFIX}restore/error`) &&
      req.method === 'POST'
    ) {
      void this.initError(session, req, res);
      return;
    }
    const m = ROUTE.exec(url);
    if (m && req.method === 'POST') {
      void this.answer(session, decodeURIComponent(m[1]!), m[2] as 'response' | 'error', req, res);
      return;
    }
    reply(res, 404, { errorMessage: 'Not found', errorType: 'NotFound' });
  }

  private next(session: RuntimeSession, req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (this.phase === 'init-error') {
      forbidden(res, 'InitError', 'Ready');
      return;
    }
    this.polls = this.polls.filter((p) => !p.destroyed);
    if (this.polls.length >= this.maxConcurrency) {
      // One poll per event the environment may run: one more is a runtime bug.
      forbidden(res, 'Ready', 'Ready');
      return;
    }
    const first = this.phase === 'init';
    this.phase = 'running';
    const queued = this.queued.shift();
    if (queued) this.send(res, queued);
    else {
      this.polls.push(res);
      res.once('close', () => {
        const i = this.polls.indexOf(res);
        if (i >= 0) this.polls.splice(i, 1);
      });
    }
    if (first) session.ready();
  }

  private async initError(
    session: RuntimeSession,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const { body } = await readBody(req, MAX_RESPONSE_BYTES);
    if (this.session !== session) return;
    if (this.phase !== 'init') {
      forbidden(res, this.phase === 'running' ? 'Ready' : 'InitError', 'InitError');
      return;
    }
    this.phase = 'init-error';
    reply(res, 202, { status: 'OK' });
    session.initError(parseError(body, header(req, 'lambda-runtime-function-error-type')));
  }

  private async answer(
    session: RuntimeSession,
    requestId: string,
    kind: 'response' | 'error',
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const target = kind === 'response' ? 'InvocationResponse' : 'InvocationErrorResponse';
    if (this.stale.has(requestId)) {
      req.resume();
      reply(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
      return;
    }
    if (this.phase !== 'running') {
      req.resume();
      forbidden(res, this.phase === 'init' ? 'Started' : 'InitError', target);
      return;
    }
    if (!this.current.has(requestId)) {
      req.resume();
      reply(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
      return;
    }
    // Claimed before the body arrives, so a duplicate POST racing this one gets 400.
    this.current.delete(requestId);
    if (kind === 'response' && session.stream && isStreaming(req)) {
      await this.streamed(session, requestId, req, res);
      return;
    }
    const { body, size } = await readBody(req, MAX_RESPONSE_BYTES);
    if (this.session !== session) return;
    if (size > MAX_RESPONSE_BYTES) {
      reply(res, 413, {
        errorMessage: `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
        errorType: 'RequestEntityTooLarge',
      });
      session.responseTooLarge(requestId, size);
      return;
    }
    reply(res, 202, { status: 'OK' });
    // A streamed response reports a mid-stream failure in its trailers.
    const trailerType = req.trailers['lambda-runtime-function-error-type'];
    if (kind === 'error')
      session.error(requestId, errorBody(body, header(req, 'lambda-runtime-function-error-type')));
    else if (trailerType) {
      const encoded = req.trailers['lambda-runtime-function-error-body'];
      const detail = encoded ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
      session.error(requestId, errorBody(detail, trailerType));
    } else session.response(requestId, body);
  }

  /**
   * A response in streaming mode (chunked, Lambda-Runtime-Function-Response-Mode:
   * streaming): passed on while it arrives; a failure after the first byte comes in
   * the trailers, as the error type and the base64 error document.
   */
  private async streamed(
    session: RuntimeSession,
    requestId: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const contentType = header(req, 'content-type') ?? 'application/octet-stream';
    await session.stream!(requestId, contentType, chunksOf(req));
    if (this.session !== session) return;
    if (!req.complete) {
      // The runtime's connection broke mid-stream; a dying runtime is reported by its exit.
      session.error(requestId, errorBody(Buffer.alloc(0), 'Runtime.TruncatedResponse'));
      return;
    }
    reply(res, 202, { status: 'OK' });
    const trailerType = req.trailers['lambda-runtime-function-error-type'];
    if (trailerType) {
      const encoded = req.trailers['lambda-runtime-function-error-body'];
      const detail = encoded ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
      session.error(requestId, errorBody(detail, trailerType));
    } else session.streamEnd?.(requestId);
  }
}

function isStreaming(req: IncomingMessage): boolean {
  return header(req, 'lambda-runtime-function-response-mode')?.toLowerCase() === 'streaming';
}

/** The body's chunks; a connection that breaks just ends them (req.complete tells). */
async function* chunksOf(req: IncomingMessage): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) yield chunk;
  } catch {
    // answered by the caller from req.complete
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function forbidden(res: ServerResponse, from: string, to: string): void {
  reply(res, 403, {
    errorMessage: `State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed`,
    errorType: 'InvalidStateTransition',
  });
}

/**
 * Reads a body, keeping at most `limit` bytes but counting them all. Events, not
 * an async iterator: one of these is read per invocation, and the iterator's
 * promises cost more than the read.
 */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; size: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () =>
      resolve({ body: size <= limit ? Buffer.concat(chunks, size) : Buffer.alloc(0), size });
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.once('end', done);
    // A runtime that dies mid-POST: its exit is reported by the process watcher.
    req.once('error', done);
    req.once('close', done);
  });
}

/** The error document the caller receives; synthesised when the runtime sent none. */
function errorBody(body: Buffer, errorType: string | undefined): Buffer {
  if (body.length > 0) return body;
  return Buffer.from(
    JSON.stringify({
      errorMessage: 'Unknown application error occurred',
      errorType: errorType ?? 'Unhandled',
    }),
  );
}

function parseError(body: Buffer, headerType: string | undefined): RuntimeError {
  try {
    const doc = JSON.parse(body.toString('utf8')) as Partial<RuntimeError>;
    return {
      errorType: String(doc.errorType ?? headerType ?? 'Runtime.Unknown'),
      errorMessage: String(doc.errorMessage ?? ''),
    };
  } catch {
    return { errorType: headerType ?? 'Runtime.Unknown', errorMessage: body.toString('utf8') };
  }
}
