// The worker channel: how an agent (one execution environment: one runtime, one
// event at a time) pulls invocations from the gateway and hands back results.
// Workers pull, so the gateway never discovers pods. Two carriers implement it:
// in-process (the process driver of `selfless dev` and tests, no network hop) and
// HTTP (agents in pods, see docs/worker-channel.md). The agent code is the same.

export interface Invocation {
  requestId: string;
  functionName: string;
  functionArn: string;
  /** The raw event. */
  payload: Buffer;
  /** Epoch milliseconds by which the function must answer. */
  deadlineMs: number;
  /** JSON, already decoded from the caller's base64 X-Amz-Client-Context. */
  clientContext?: string;
  cognitoIdentity?: string;
  traceId?: string;
  /** The caller asked for `X-Amz-Log-Type: Tail`. */
  logTail: boolean;
}

export type FunctionErrorKind = 'Unhandled' | 'Handled';

export interface InvocationResult {
  requestId: string;
  /** The function's response, or the error document when functionError is set. */
  payload: Buffer;
  functionError?: FunctionErrorKind;
  /** Base64 of the last 4 KB of this invocation's log, when logTail was asked. */
  logResult?: string;
  durationMs: number;
  billedDurationMs: number;
  /** Set on the first invocation of a fresh environment (a cold start). */
  initDurationMs?: number;
  maxMemoryUsedMB: number;
  /**
   * The body went to the caller through `WorkerChannel.stream` while the runtime
   * wrote it: `payload` is empty, or the error document when functionError is set.
   */
  streamed?: boolean;
}

/** A response the runtime streams (`Lambda-Runtime-Function-Response-Mode: streaming`). */
export interface ResponseStreamHead {
  requestId: string;
  /** The Content-Type the runtime gave its stream. */
  contentType: string;
}

export interface WorkerIdentity {
  /** Unique per environment, stable across the runtime's restarts. */
  workerId: string;
  functionName: string;
}

/** The gateway side of the channel, as an agent sees it. */
export interface WorkerChannel {
  /**
   * Long-polls for the next invocation of this worker's function. The first call
   * also tells the gateway the environment is initialised (warm and idle).
   * Rejects with an AbortError when `signal` aborts (the worker is going away).
   */
  next(worker: WorkerIdentity, signal: AbortSignal): Promise<Invocation>;
  /** Returns the result of an invocation this worker took. */
  complete(worker: WorkerIdentity, result: InvocationResult): Promise<void>;
  /**
   * The runtime failed to initialise (crash, init error, init timeout). The
   * gateway fails the invocation that is waiting for this environment with
   * `error` as an Unhandled function error.
   */
  initFailed(
    worker: WorkerIdentity,
    error: { errorType: string; errorMessage: string },
  ): Promise<void>;
  /** The environment is gone (reaped, crashed for good, stopped). */
  leave(worker: WorkerIdentity): Promise<void>;
  /**
   * The worker was handed this invocation but will not run it (an agent polling
   * several gateway replicas took another replica's first): it goes back to the
   * head of its function's queue as if it had never been delivered.
   */
  giveBack?(worker: WorkerIdentity, requestId: string): Promise<void>;
  /**
   * Hands the caller a response while the runtime streams it. Resolves once the
   * gateway has taken all of `body` (it reads at the caller's pace); `complete`
   * follows with `streamed: true`. A channel without it gets the response buffered.
   */
  stream?(
    worker: WorkerIdentity,
    head: ResponseStreamHead,
    body: AsyncIterable<Buffer>,
  ): Promise<void>;
}
