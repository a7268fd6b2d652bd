// A small, real WorkerChannel for tests: invocations wait in a queue, a worker's
// `next` takes the oldest or waits for one, `complete` answers the caller, and
// `initFailed` fails the oldest waiting call, as the gateway's hub does.
import { randomUUID } from 'node:crypto';
import type {
  Invocation,
  InvocationResult,
  WorkerChannel,
  WorkerIdentity,
} from '../../lib/worker-channel/channel.ts';

export interface InvokeOptions {
  timeoutSeconds?: number;
  logTail?: boolean;
  clientContext?: string;
  cognitoIdentity?: string;
  traceId?: string;
}

interface Waiter {
  resolve: (inv: Invocation) => void;
}

export class QueueChannel implements WorkerChannel {
  readonly initFailures: {
    worker: WorkerIdentity;
    error: { errorType: string; errorMessage: string };
  }[] = [];
  readonly left: WorkerIdentity[] = [];
  nextCalls = 0;
  private readonly queue: Invocation[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly callers = new Map<string, (r: InvocationResult) => void>();
  private readonly timeouts = new Map<string, number>();
  private readonly nextListeners: (() => void)[] = [];

  constructor(private readonly functionName: string) {}

  /** Queues an invocation and resolves with its result. */
  invoke(payload: unknown, o: InvokeOptions = {}): Promise<InvocationResult> {
    const requestId = randomUUID();
    const inv: Invocation = {
      requestId,
      functionName: this.functionName,
      functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${this.functionName}`,
      payload: Buffer.from(JSON.stringify(payload)),
      // Set again when a worker takes it: the deadline runs from the hand-off, as
      // the gateway's hub sets it, not from the queueing.
      deadlineMs: 0,
      logTail: o.logTail ?? false,
    };
    this.timeouts.set(requestId, (o.timeoutSeconds ?? 3) * 1000);
    if (o.clientContext) inv.clientContext = o.clientContext;
    if (o.cognitoIdentity) inv.cognitoIdentity = o.cognitoIdentity;
    if (o.traceId) inv.traceId = o.traceId;
    const result = new Promise<InvocationResult>((resolve) => this.callers.set(requestId, resolve));
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(this.handOff(inv));
    else this.queue.push(inv);
    return result;
  }

  private handOff(inv: Invocation): Invocation {
    inv.deadlineMs = Date.now() + this.timeouts.get(inv.requestId)!;
    return inv;
  }

  /** Resolves once `next` has been called `n` times in all (the worker is warm). */
  nextCalled(n = 1): Promise<void> {
    if (this.nextCalls >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.nextCalls >= n) resolve();
        else this.nextListeners.push(check);
      };
      this.nextListeners.push(check);
    });
  }

  next(_worker: WorkerIdentity, signal: AbortSignal): Promise<Invocation> {
    this.nextCalls++;
    for (const l of this.nextListeners.splice(0)) l();
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(this.handOff(queued));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve };
      this.waiters.push(waiter);
      signal.addEventListener(
        'abort',
        () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new DOMException('The worker is going away', 'AbortError'));
        },
        { once: true },
      );
    });
  }

  async complete(_worker: WorkerIdentity, result: InvocationResult): Promise<void> {
    const caller = this.callers.get(result.requestId);
    this.callers.delete(result.requestId);
    caller?.(result);
  }

  async initFailed(
    worker: WorkerIdentity,
    error: { errorType: string; errorMessage: string },
  ): Promise<void> {
    this.initFailures.push({ worker, error });
    const waiting = this.queue.shift();
    if (!waiting) return;
    const caller = this.callers.get(waiting.requestId);
    this.callers.delete(waiting.requestId);
    caller?.({
      requestId: waiting.requestId,
      payload: Buffer.from(JSON.stringify(error)),
      functionError: 'Unhandled',
      durationMs: 0,
      billedDurationMs: 0,
      maxMemoryUsedMB: 0,
    });
  }

  async leave(worker: WorkerIdentity): Promise<void> {
    this.left.push(worker);
  }
}
