// The gateway's side of the worker channel. Admitted invocations wait here, per
// function, until an environment of that function asks for work; environments
// that ask while nothing waits are parked until something arrives. An environment
// that runs several events at once (perExecutionEnvironmentMaxConcurrency) asks
// once per free slot, so it may be parked several times and run several events.
// One event loop owns all of this state, so handing an invocation to a parked
// worker is atomic.
import { EventEmitter } from 'node:events';
import type {
  Invocation,
  InvocationResult,
  ResponseStreamHead,
  WorkerChannel,
  WorkerIdentity,
} from '../lib/worker-channel/channel.ts';
import { MAX_RESPONSE_BYTES } from '../lib/agent/runtime-api.ts';
import { responseTooLargeError, timeoutError } from '../lib/agent/lambda-log.ts';

/**
 * Takes a streamed response while the runtime writes it; resolves once it has read
 * `body` to the end (or given up on it: the rest is then dropped).
 */
export type StreamConsumer = (
  head: ResponseStreamHead,
  body: AsyncIterable<Buffer>,
) => Promise<void>;

export interface PendingInvocation {
  requestId: string;
  functionName: string;
  functionArn: string;
  payload: Buffer;
  timeoutSeconds: number;
  clientContext?: string;
  traceId?: string;
  logTail: boolean;
  enqueuedAt: number;
}

interface Waiting {
  pending: PendingInvocation;
  resolve(result: InvocationResult): void;
  /** The caller takes a streamed response as it comes; without it, it is buffered here. */
  onStream?: StreamConsumer;
  /** A streamed response kept for a caller that wants it whole (size counts all of it). */
  buffered?: { chunks: Buffer[]; size: number };
  /** Ends its wait for an environment (armed while it is queued). */
  cancelWait?: () => void;
}

interface Parked {
  worker: WorkerIdentity;
  since: number;
  deliver(invocation: Invocation): void;
}

interface Running {
  waiting: Waiting;
  workerId: string;
  guard: NodeJS.Timeout;
}

export interface HubEvents {
  /** An invocation is waiting and no parked worker could take it. */
  queued: [functionName: string];
  /** A worker asked for work (its first ask means: initialised). */
  idle: [worker: WorkerIdentity];
  busy: [worker: WorkerIdentity];
  initFailed: [worker: WorkerIdentity];
  left: [worker: WorkerIdentity];
  /** An invocation waited its function's timeout plus the cold-start allowance for an environment. */
  waitExpired: [functionName: string];
}

/** Starts `fn` after `ms`; the returned function cancels it. Injected by tests. */
export type Schedule = (fn: () => void, ms: number) => () => void;

export interface HubOptions {
  /**
   * How long beyond its function's timeout an invocation may wait for an environment
   * to take it (default Lambda's 10 s init phase). One whose environment never comes
   * (an init container in CrashLoopBackOff, a process that dies before it connects)
   * is answered as Lambda answers an init that outlives the timeout: the timeout.
   */
  coldStartAllowanceMs?: number;
  schedule?: Schedule;
}

const COLD_START_ALLOWANCE_MS = 10_000;

const realSchedule: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/** How long past its deadline an invocation may stay unanswered before the hub
 * gives up on its worker (an agent that died without reporting). */
const ORPHAN_GRACE_MS = 10_000;

/** How long an answered worker counts as about to ask again (a runtime re-init after
 * a timeout fits in it; a worker that died does not hold invocations longer). */
const RETURN_GRACE_MS = 2_000;

export function errorResult(
  requestId: string,
  errorType: string,
  errorMessage: string,
): InvocationResult {
  return {
    requestId,
    payload: Buffer.from(JSON.stringify({ errorMessage, errorType })),
    functionError: 'Unhandled',
    durationMs: 0,
    billedDurationMs: 0,
    maxMemoryUsedMB: 0,
  };
}

/** A streamed result as a caller that buffers receives it. */
function unstreamed(result: InvocationResult, waiting: Waiting): InvocationResult {
  const { streamed: _, ...rest } = result;
  if (rest.functionError) return rest;
  const size = waiting.buffered?.size ?? 0;
  if (size > MAX_RESPONSE_BYTES) {
    return {
      ...rest,
      payload: responseTooLargeError(size, MAX_RESPONSE_BYTES),
      functionError: 'Unhandled',
    };
  }
  return { ...rest, payload: Buffer.concat(waiting.buffered?.chunks ?? []) };
}

export class WorkerHub extends EventEmitter<HubEvents> implements WorkerChannel {
  /** Whether a worker may take new work (the pool says no to outdated ones). */
  canTake: (worker: WorkerIdentity) => boolean = () => true;

  private readonly queues = new Map<string, Waiting[]>();
  private readonly parked = new Map<string, Parked[]>();
  private readonly running = new Map<string, Running>();
  /** Events running per worker. */
  private readonly busy = new Map<string, number>();
  /** Slots of workers that just answered and are about to ask again, with give-up timers. */
  private readonly returning = new Map<
    string,
    { functionName: string; timers: NodeJS.Timeout[] }
  >();

  private readonly allowanceMs: number;
  private readonly schedule: Schedule;

  constructor(opts: HubOptions = {}) {
    super();
    this.allowanceMs = opts.coldStartAllowanceMs ?? COLD_START_ALLOWANCE_MS;
    this.schedule = opts.schedule ?? realSchedule;
  }

  /** Runs an admitted invocation on some environment of its function. */
  invoke(pending: PendingInvocation, onStream?: StreamConsumer): Promise<InvocationResult> {
    return new Promise((resolve) =>
      this.place({ pending, resolve, ...(onStream && { onStream }) }, false),
    );
  }

  /** Hands an invocation to a parked worker, or queues it (a given-back one at the head). */
  private place(waiting: Waiting, atHead: boolean): void {
    const { functionName } = waiting.pending;
    // The most recently parked worker first: its runtime is warm in every cache,
    // and the ones that stay parked age enough for the pool to reap them.
    const parked = this.parked.get(functionName) ?? [];
    const i = parked.findLastIndex((p) => this.canTake(p.worker));
    const worker = i < 0 ? undefined : parked.splice(i, 1)[0];
    if (worker) {
      this.deliver(worker, waiting);
      return;
    }
    const queue = this.queues.get(functionName) ?? [];
    if (atHead) queue.unshift(waiting);
    else queue.push(waiting);
    this.queues.set(functionName, queue);
    this.awaitEnvironment(waiting);
    this.emit('queued', functionName);
  }

  /** Bounds a queued invocation's wait; one given back waits afresh. */
  private awaitEnvironment(waiting: Waiting): void {
    const p = waiting.pending;
    waiting.cancelWait = this.schedule(
      () => {
        delete waiting.cancelWait;
        const queue = this.queues.get(p.functionName);
        const i = queue?.indexOf(waiting) ?? -1;
        if (i < 0) return;
        queue!.splice(i, 1);
        this.emit('waitExpired', p.functionName);
        waiting.resolve({
          requestId: p.requestId,
          payload: timeoutError(p.requestId, p.timeoutSeconds),
          functionError: 'Unhandled',
          durationMs: p.timeoutSeconds * 1000,
          billedDurationMs: 0,
          maxMemoryUsedMB: 0,
        });
      },
      p.timeoutSeconds * 1000 + this.allowanceMs,
    );
  }

  /** It left the queue: for an environment, or with an answer. */
  private dequeued(waiting: Waiting): void {
    waiting.cancelWait?.();
    delete waiting.cancelWait;
  }

  queued(functionName: string): number {
    return this.queues.get(functionName)?.length ?? 0;
  }

  /** Invocations of `functionName` (a worker key) a worker runs now. */
  runningCount(functionName: string): number {
    let n = 0;
    for (const r of this.running.values()) if (r.waiting.pending.functionName === functionName) n++;
    return n;
  }

  /**
   * Workers parked in next() and running nothing, oldest first, with the time they
   * last parked.
   */
  idleWorkers(functionName: string): { workerId: string; since: number }[] {
    const idle = new Map<string, number>();
    for (const p of this.parked.get(functionName) ?? []) {
      if (this.busy.has(p.worker.workerId)) continue;
      idle.set(p.worker.workerId, Math.max(idle.get(p.worker.workerId) ?? 0, p.since));
    }
    return [...idle]
      .map(([workerId, since]) => ({ workerId, since }))
      .sort((a, b) => a.since - b.since);
  }

  /**
   * Takes an idle worker (every poll of it) out of rotation so that nothing is
   * delivered to it while it is being stopped. Returns false when it is not idle
   * (it runs an event, or just took one).
   */
  retire(functionName: string, workerId: string): boolean {
    const list = this.parked.get(functionName);
    if (!list || this.busy.has(workerId)) return false;
    const kept = list.filter((p) => p.worker.workerId !== workerId);
    if (kept.length === list.length) return false;
    this.parked.set(functionName, kept);
    return true;
  }

  /** Slots of workers that answered and will ask for work again any moment. */
  returningWorkers(functionName: string): number {
    let n = 0;
    for (const r of this.returning.values())
      if (r.functionName === functionName) n += r.timers.length;
    return n;
  }

  /** One slot of the worker asked again (or all of it left). */
  private clearReturning(workerId: string, all = false): void {
    const r = this.returning.get(workerId);
    if (!r) return;
    for (const timer of all ? r.timers : r.timers.splice(0, 1)) clearTimeout(timer);
    if (all || r.timers.length === 0) this.returning.delete(workerId);
  }

  next(worker: WorkerIdentity, signal: AbortSignal): Promise<Invocation> {
    this.clearReturning(worker.workerId);
    this.emit('idle', worker);
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const parked: Parked = {
        worker,
        since: Date.now(),
        deliver: (invocation) => {
          signal.removeEventListener('abort', onAbort);
          resolve(invocation);
        },
      };
      const onAbort = () => {
        const list = this.parked.get(worker.functionName);
        const i = list?.indexOf(parked) ?? -1;
        if (i >= 0) list!.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const waiting = this.canTake(worker)
        ? this.queues.get(worker.functionName)?.shift()
        : undefined;
      if (waiting) this.deliver(parked, waiting);
      else {
        const list = this.parked.get(worker.functionName) ?? [];
        list.push(parked);
        this.parked.set(worker.functionName, list);
      }
    });
  }

  private deliver(parked: Parked, waiting: Waiting): void {
    this.dequeued(waiting);
    const p = waiting.pending;
    // Lambda's timeout covers the execution only: the clock starts at delivery.
    const deadlineMs = Date.now() + p.timeoutSeconds * 1000;
    const guard = setTimeout(
      () => {
        if (this.running.delete(p.requestId)) {
          waiting.resolve(
            errorResult(
              p.requestId,
              'Sandbox.Timedout',
              `Task timed out after ${p.timeoutSeconds.toFixed(2)} seconds`,
            ),
          );
        }
      },
      deadlineMs - Date.now() + ORPHAN_GRACE_MS,
    );
    guard.unref();
    this.running.set(p.requestId, { waiting, workerId: parked.worker.workerId, guard });
    this.busy.set(parked.worker.workerId, (this.busy.get(parked.worker.workerId) ?? 0) + 1);
    this.emit('busy', parked.worker);
    const invocation: Invocation = {
      requestId: p.requestId,
      functionName: p.functionName,
      functionArn: p.functionArn,
      payload: p.payload,
      deadlineMs,
      logTail: p.logTail,
    };
    if (p.clientContext !== undefined) invocation.clientContext = p.clientContext;
    if (p.traceId !== undefined) invocation.traceId = p.traceId;
    parked.deliver(invocation);
  }

  async stream(
    worker: WorkerIdentity,
    head: ResponseStreamHead,
    body: AsyncIterable<Buffer>,
  ): Promise<void> {
    const run = this.running.get(head.requestId);
    const waiting = run?.workerId === worker.workerId ? run.waiting : undefined;
    if (waiting?.onStream) {
      await waiting.onStream(head, body);
      return;
    }
    // A caller that wants the response whole gets it as Invoke would: 6 MB at most.
    const buffered = { chunks: [] as Buffer[], size: 0 };
    if (waiting) waiting.buffered = buffered;
    for await (const chunk of body) {
      buffered.size += chunk.length;
      if (waiting && buffered.size <= MAX_RESPONSE_BYTES) buffered.chunks.push(chunk);
    }
  }

  /** An event of this worker ended (answered, given back, lost). */
  private ended(requestId: string, run: Running): void {
    this.running.delete(requestId);
    clearTimeout(run.guard);
    const n = (this.busy.get(run.workerId) ?? 1) - 1;
    if (n > 0) this.busy.set(run.workerId, n);
    else this.busy.delete(run.workerId);
  }

  async complete(worker: WorkerIdentity, result: InvocationResult): Promise<void> {
    const run = this.running.get(result.requestId);
    if (!run) return;
    if (result.streamed && !run.waiting.onStream) result = unstreamed(result, run.waiting);
    this.ended(result.requestId, run);
    // Between its answer and its next ask the slot is about to be free: an
    // invocation arriving now waits for it rather than paying for a cold start.
    // If it does not come back in time, the pool is told to start one after all.
    if (!this.canTake(worker)) {
      run.waiting.resolve(result);
      return;
    }
    const timer = setTimeout(() => {
      this.clearReturning(worker.workerId);
      if (this.queued(worker.functionName) > 0) this.emit('queued', worker.functionName);
    }, RETURN_GRACE_MS);
    timer.unref();
    const r = this.returning.get(worker.workerId);
    if (r) r.timers.push(timer);
    else
      this.returning.set(worker.workerId, { functionName: worker.functionName, timers: [timer] });
    run.waiting.resolve(result);
  }

  async giveBack(worker: WorkerIdentity, requestId: string): Promise<void> {
    const run = this.running.get(requestId);
    if (!run || run.workerId !== worker.workerId) return;
    this.ended(requestId, run);
    // Its deadline is set again at the next delivery: the clock starts at execution.
    this.place(run.waiting, true);
  }

  async initFailed(
    worker: WorkerIdentity,
    error: { errorType: string; errorMessage: string },
  ): Promise<void> {
    this.emit('initFailed', worker);
    // The invocation that waited longest is the one this environment was started for.
    const waiting = this.queues.get(worker.functionName)?.shift();
    if (!waiting) return;
    this.dequeued(waiting);
    waiting.resolve(errorResult(waiting.pending.requestId, error.errorType, error.errorMessage));
  }

  async leave(worker: WorkerIdentity): Promise<void> {
    const list = this.parked.get(worker.functionName);
    if (list)
      this.parked.set(
        worker.functionName,
        list.filter((p) => p.worker.workerId !== worker.workerId),
      );
    this.clearReturning(worker.workerId, true);
    for (const [requestId, run] of this.running) {
      if (run.workerId !== worker.workerId) continue;
      this.ended(requestId, run);
      run.waiting.resolve(
        errorResult(
          requestId,
          'Runtime.ExitError',
          'RequestId: ' + requestId + ' Error: Runtime exited without providing a reason',
        ),
      );
    }
    this.emit('left', worker);
  }

  /** Fails everything still waiting for a worker of this function (it was removed). */
  drop(functionName: string, errorType: string, message: string): void {
    for (const w of this.queues.get(functionName) ?? []) {
      this.dequeued(w);
      w.resolve(errorResult(w.pending.requestId, errorType, message));
    }
    this.queues.delete(functionName);
  }
}
