// The gateway's side of the HTTP worker channel: `makeWorkerChannelRoutes` exposes
// any WorkerChannel (the gateway's hub) to agents in pods. `next` is a long poll held
// until an invocation arrives, the agent cancels it, or it disconnects. Messages are
// encoded and decoded in wire.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Invocation, InvocationResult, WorkerChannel, WorkerIdentity } from './channel.ts';
import {
  DONE_STATUS,
  MAX_BODY_BYTES,
  decodeCancel,
  decodeGiveBack,
  decodeIdentity,
  decodeInitFailure,
  decodeNext,
  decodeResult,
  decodeRoute,
  decodeStreamHead,
  encodeError,
  encodeInvocation,
  isAuthorized,
  type Decoded,
  type Message,
  type Route,
} from './wire.ts';

/** How long a cancel that arrived before its poll is remembered. */
const EARLY_CANCEL_TTL_MS = 60_000;

/**
 * The polls of one routes instance that can be cancelled, by worker and poll id: a
 * worker running several events at once has several polls parked.
 */
class Polls {
  private readonly parked = new Map<string, () => void>();
  private readonly early = new Map<string, NodeJS.Timeout>();

  /** Registers a parked poll; false when its cancel already arrived. */
  park(workerId: string, pollId: string, cancel: () => void): boolean {
    const key = pollKey(workerId, pollId);
    if (this.early.has(key)) {
      this.forgetEarly(key);
      return false;
    }
    this.parked.set(key, cancel);
    return true;
  }

  unpark(workerId: string, pollId: string): void {
    this.parked.delete(pollKey(workerId, pollId));
  }

  /** Cancels the poll, or remembers the cancel for a poll still on its way. */
  cancel(workerId: string, pollId: string): void {
    const key = pollKey(workerId, pollId);
    const cancel = this.parked.get(key);
    if (cancel) {
      cancel();
      return;
    }
    this.forgetEarly(key);
    const timer = setTimeout(() => this.early.delete(key), EARLY_CANCEL_TTL_MS);
    timer.unref();
    this.early.set(key, timer);
  }

  /** The worker left: its early cancels are moot. */
  forget(workerId: string): void {
    for (const key of this.early.keys()) {
      if (key.startsWith(`${workerId}\n`)) this.forgetEarly(key);
    }
  }

  private forgetEarly(key: string): void {
    clearTimeout(this.early.get(key));
    this.early.delete(key);
  }
}

function pollKey(workerId: string, pollId: string): string {
  return `${workerId}\n${pollId}`;
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
    const route = decodeRoute(req.url ?? '');
    if (!route) return false;
    void serve(channel, opts, polls, route, req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        fail(res, 500, `the channel failed: ${err instanceof Error ? err.message : String(err)}`);
      } else res.destroy();
    });
    return true;
  };
}

async function serve(
  channel: WorkerChannel,
  opts: WorkerChannelRoutesOptions,
  polls: Polls,
  decodedRoute: Decoded<Route>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (opts.token !== undefined && !isAuthorized(req.headers, opts.token)) {
    req.resume();
    return fail(res, 401, 'missing or wrong bearer token');
  }
  if (!decodedRoute.ok) {
    req.resume();
    return fail(res, 404, decodedRoute.error.message);
  }
  if (req.method !== 'POST') {
    req.resume();
    res.setHeader('Allow', 'POST');
    return fail(res, 405, 'use POST');
  }
  const identity = decodeIdentity(req.headers);
  if (!identity.ok) {
    req.resume();
    return fail(res, 400, identity.error.message);
  }
  const worker = identity.value;
  if (decodedRoute.value === 'stream') return serveStream(channel, worker, req, res);
  const body = await readBody(req);
  if (!body) return fail(res, 413, `body over ${MAX_BODY_BYTES} bytes`);

  switch (decodedRoute.value) {
    case 'next':
      return serveNext(channel, worker, decodeNext(req.headers).pollId, polls, req, res);
    case 'cancel': {
      const cancel = decodeCancel(req.headers);
      if (!cancel.ok) return fail(res, 400, cancel.error.message);
      polls.cancel(worker.workerId, cancel.value.pollId);
      return done(res);
    }
    case 'return': {
      const giveBack = decodeGiveBack(req.headers);
      if (!giveBack.ok) return fail(res, 400, giveBack.error.message);
      if (!channel.giveBack) return fail(res, 501, 'this gateway cannot take invocations back');
      await channel.giveBack(worker, giveBack.value.requestId);
      return done(res);
    }
    case 'complete': {
      const result = decodeResult(req.headers, body);
      if (!result.ok) return fail(res, 400, result.error.message);
      await channel.complete(worker, result.value);
      return done(res);
    }
    case 'init-failed': {
      const failure = decodeInitFailure(body);
      if (!failure.ok) return fail(res, 400, failure.error.message);
      await channel.initFailed(worker, failure.value);
      return done(res);
    }
    case 'leave':
      polls.forget(worker.workerId);
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
  send(res, 200, encodeInvocation(inv));
}

/** The body is handed on as it arrives, not read first: the caller reads at its own pace. */
async function serveStream(
  channel: WorkerChannel,
  worker: WorkerIdentity,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const head = decodeStreamHead(req.headers);
  if (!head.ok || !channel.stream) {
    req.resume();
    if (!head.ok) return fail(res, 400, head.error.message);
    return fail(res, 501, 'this gateway cannot take streamed responses');
  }
  await channel.stream(worker, head.value, chunksOf(req));
  // Whatever the caller left unread is dropped, so the agent can send its result.
  for await (const chunk of chunksOf(req)) void chunk;
  if (!req.complete) return;
  done(res);
}

/** The body's chunks; a broken connection just ends them (req.complete tells). */
async function* chunksOf(req: IncomingMessage): AsyncGenerator<Buffer> {
  try {
    const chunks = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
    for await (const chunk of chunks) yield chunk;
  } catch {
    // the agent went away: nothing to answer
  }
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

function send(res: ServerResponse, status: number, message: Message): void {
  res.writeHead(status, { ...message.headers, 'Content-Length': message.body.length });
  res.end(message.body);
}

function fail(res: ServerResponse, status: number, message: string): void {
  send(res, status, encodeError(message));
}

function done(res: ServerResponse): void {
  res.writeHead(DONE_STATUS);
  res.end();
}
