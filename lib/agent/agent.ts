// The agent of one execution environment: it serves the Lambda Runtime API to one
// runtime process, pulls invocations from the gateway over a WorkerChannel (one at
// a time, as Lambda does, or up to perExecutionEnvironmentMaxConcurrency at once,
// as Lambda Managed Instances do), and supervises the runtime: init (cold start) measured
// until the runtime's first `next`, the deadline enforced by killing and
// re-initialising it, memory and /tmp limits, crashes reported and restarted, and
// Lambda's START / END / REPORT lines. The same class runs in the gateway's process
// (process driver) and in pods (`selfless agent`, HTTP channel). For image functions
// the runtime runs in another container (`externalRuntime`): the agent serves it the
// Runtime API on a fixed address, and what it would kill it reports as needing a
// restart instead (`runtimeNeedsRestart`, the pod's liveness probe).
import { sleep } from '../sleep.ts';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { maxConcurrency, type FunctionDefinition } from '../function.ts';
import { runtimeFamily } from '../runtimes.ts';
import { interpreterFor } from './interpreters.ts';
import type {
  Invocation,
  InvocationResult,
  WorkerChannel,
  WorkerIdentity,
} from '../worker-channel/channel.ts';
import { LogTail, billedMs, exitError, responseTooLargeError, timeoutError } from './lambda-log.ts';
import { PlatformLog, type InvocationReport } from './platform-log.ts';
import {
  LAMBDA_STREAM_LIMITS,
  relayStream,
  type RelayedStream,
  type StreamLimits,
} from './response-stream.ts';
import { MAX_RESPONSE_BYTES, RuntimeApi, type RuntimeError } from './runtime-api.ts';
import {
  ExternalRuntime,
  RuntimeProcess,
  describeExit,
  launchSpec,
  type ExitInfo,
  type LaunchSpec,
  type RuntimeHandle,
} from './runtime-process.ts';
import { RestoredRuntime, snapshotOf } from './snapshot.ts';
import { directoryBytes, peakRssKiB, rssKiB } from './usage.ts';
import { snapStartOn } from '../snap-start.ts';

export interface AgentOptions {
  channel: WorkerChannel;
  worker: WorkerIdentity;
  fn: FunctionDefinition;
  /** The function's code, already extracted: LAMBDA_TASK_ROOT and the runtime's cwd. */
  codeDir: string;
  /** The function's layers, already extracted; default /opt, as on Lambda. */
  optDir?: string;
  /** This environment's own /tmp (TMPDIR); created if missing, emptied on a storage overrun. */
  tmpDir: string;
  /** Platform variables: AWS_ENDPOINT_URL_*, AWS_REGION, credentials. */
  env: Record<string, string>;
  /**
   * Every line of the function's log: runtime output and START/END/REPORT (or, in
   * the JSON log format, the platform.* records), as its LoggingConfig filters them.
   */
  log: (line: string) => void;
  /**
   * The node, python3.x or java executable of a managed runtime; default: the
   * runtime's pinned version as interpreters.ts finds it (a log line says when it
   * found another).
   */
  interpreter?: string;
  /** Longest init before it counts as failed; Lambda allows 10 s. */
  initTimeoutMs?: number;
  /** Delay before retrying a failed init, doubled on each failure up to `max`. */
  restartBackoffMs?: { initial: number; max: number };
  /** How often a running invocation's memory and /tmp are checked. */
  watchIntervalMs?: number;
  /** Where the Runtime API listens (`host:port`); default a free port on 127.0.0.1. */
  runtimeApiAddress?: string;
  /**
   * The runtime is started by others (another container) and connects to the
   * Runtime API by itself. There is no init timeout (starting the container is
   * Kubernetes's business) and no memory sampling (the container's limit applies);
   * a timeout or limit marks the runtime as needing a restart.
   */
  externalRuntime?: boolean;
  /** Limits of a streamed response; Lambda's (200 MB, 2 MB/s past the first 6 MB) by default. */
  streamLimits?: StreamLimits;
}

type InitOutcome = { ok: true; initDurationMs: number } | { ok: false; error: RuntimeError };

/** How an invocation ended, before it becomes an InvocationResult. */
type Ending =
  | { kind: 'response'; body: Buffer }
  | { kind: 'streamed' }
  | { kind: 'error'; body: Buffer }
  | { kind: 'too-large'; size: number }
  | { kind: 'timeout' }
  | { kind: 'exit'; exit: ExitInfo }
  | { kind: 'out-of-memory' }
  | { kind: 'storage'; bytes: number };

interface Runtime {
  proc: RuntimeHandle;
  init: Promise<InitOutcome>;
  failed: boolean;
  /** Killed on purpose (timeout, limit, stop): its exit is expected. */
  retired: boolean;
  /** Init Duration not yet reported on an invocation. */
  unreportedInitMs?: number;
  /** Restored from a snapshot (SnapStart): its init is a restore. */
  restored: boolean;
  /** Restore Duration not yet reported on an invocation. */
  unreportedRestoreMs?: number;
  peakKiB: number;
  /** When peakKiB was last read from /proc (performance.now()); 0: never. */
  peakReadAt: number;
  heapExhausted: boolean;
  /** Killed by the agent for going over memorySize. */
  killedForMemory: boolean;
}

interface Active {
  inv: Invocation;
  rt: Runtime;
  tail: LogTail | undefined;
  settle: (e: Ending) => void;
  /** The response the runtime is streaming to the caller, if it streams. */
  stream?: RelayedStream;
}

const MiB = 1024 * 1024;

export class Agent {
  private readonly o: AgentOptions;
  private readonly abort = new AbortController();
  private readonly logStream: string;
  private readonly platformLog: PlatformLog;
  private api: RuntimeApi | undefined;
  private spec: LaunchSpec | undefined;
  /** Lines the function's log gets at each init: another version than the pinned one. */
  private notes: string[] = [];
  private rt: Runtime | undefined;
  /** Invocations the runtime is running, by request id. */
  private readonly active = new Map<string, Active>();
  /** How many of them asked for a log tail. */
  private tails = 0;
  /** Events this environment runs at once (AWS_LAMBDA_MAX_CONCURRENCY). */
  private readonly slots: number;
  /** Slots held by an event that timed out and that the runtime has not answered. */
  private stuck = 0;
  /** Slots waiting for the next runtime to be launched. */
  private launchWaiters: (() => void)[] = [];
  private stopping = false;
  private ending: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private needsRestart = false;

  constructor(options: AgentOptions) {
    this.o = options;
    this.slots = maxConcurrency(options.fn);
    this.platformLog = new PlatformLog(
      options.fn.spec.loggingConfig,
      undefined,
      options.fn.version ?? '$LATEST',
    );
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    this.logStream = `${day}/[${options.fn.version ?? '$LATEST'}]${randomBytes(16).toString('hex')}`;
  }

  /** The Runtime API address (`127.0.0.1:port`) once started. */
  get runtimeApiAddress(): string | undefined {
    return this.api?.address;
  }

  /**
   * An external runtime overran its timeout or a limit, or failed its init, and
   * has not started again since: only whoever runs it can restart it.
   */
  get runtimeNeedsRestart(): boolean {
    return this.needsRestart;
  }

  /**
   * Opens the Runtime API and starts the supervision loop in the background: init
   * the runtime, then `channel.next` -> deliver -> `channel.complete`, forever.
   * Resolves once the loop runs; init success or failure reaches the gateway
   * through the channel (`next` / `initFailed`).
   */
  async start(): Promise<void> {
    if (this.loop) return;
    mkdirSync(this.o.tmpDir, { recursive: true });
    this.api = await RuntimeApi.start(this.o.runtimeApiAddress, this.slots);
    const runtime = this.o.fn.spec.runtime;
    let interpreter = this.o.interpreter;
    if (
      interpreter === undefined &&
      runtimeFamily(runtime) !== 'provided' &&
      !this.o.externalRuntime
    ) {
      const found = await interpreterFor(runtime);
      interpreter = found.command;
      if (found.note) this.notes.push(found.note);
    }
    this.spec = launchSpec({
      fn: this.o.fn,
      codeDir: this.o.codeDir,
      ...(this.o.optDir !== undefined && { optDir: this.o.optDir }),
      tmpDir: this.o.tmpDir,
      runtimeApi: this.api.address,
      platformEnv: this.o.env,
      interpreter,
      region: this.o.env.AWS_REGION ?? this.o.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      logStreamName: this.logStream,
    });
    this.loop = this.run();
  }

  /**
   * Kills the runtime, finishes the invocation in flight (as a runtime exit, so its
   * caller is answered), closes the Runtime API and leaves the channel. During a
   * drain it cuts the drain short the same way.
   */
  async stop(): Promise<void> {
    const ended = this.end();
    this.rt?.proc.kill();
    return ended;
  }

  /**
   * Takes no more events, lets those in flight finish (each bounded by its own
   * timeout), then stops: what a worker pod does on SIGTERM, so that a rollout (a
   * changed configuration, a scale-down) does not cut calls short.
   */
  async drain(): Promise<void> {
    return this.end();
  }

  private end(): Promise<void> {
    this.ending ??= this.finish();
    return this.ending;
  }

  private async finish(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.loop;
    this.rt?.proc.kill();
    // The exit is awaited, not only signalled: a process that stops its agents and
    // then exits (selfless dev on Ctrl-C) must not leave a runtime behind.
    await this.rt?.proc.exited;
    await this.api?.close();
    await this.o.channel.leave(this.o.worker).catch((err: unknown) => this.warn('leave', err));
  }

  /**
   * One loop per event the environment runs at once. The first supervises the
   * runtime's init (reports a failure, backs off, retries); the others wait for a
   * runtime that initialised.
   */
  private async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.slots }, (_, i) => this.slot(i === 0)));
  }

  private async slot(supervises: boolean): Promise<void> {
    const backoff = this.o.restartBackoffMs ?? { initial: 100, max: 5000 };
    let failures = 0;
    const pause = () =>
      sleep(Math.min(backoff.max, backoff.initial * 2 ** (failures - 1)), this.abort.signal);
    while (!this.stopping) {
      const outcome = supervises ? await this.runtime() : await this.initialised();
      if (this.stopping) break;
      if (!outcome.ok) {
        failures++;
        await this.o.channel
          .initFailed(this.o.worker, outcome.error)
          .catch((err: unknown) => this.warn('initFailed', err));
        await pause();
        continue;
      }
      failures = 0;
      let inv: Invocation;
      try {
        inv = await this.o.channel.next(this.o.worker, this.abort.signal);
      } catch (err) {
        if (this.stopping) break;
        this.warn('next', err);
        failures++;
        await pause();
        continue;
      }
      const { result, late } = await this.invoke(inv);
      await this.o.channel
        .complete(this.o.worker, result)
        .catch((err: unknown) => this.warn('complete', err));
      // A timed-out event the runtime still runs keeps its slot until it answers.
      if (late) await late;
    }
  }

  /** The init outcome of a runtime this slot may use, waiting for launches as needed. */
  private async initialised(): Promise<InitOutcome> {
    for (;;) {
      const rt = this.rt;
      if (rt && !rt.failed && rt.proc.alive) {
        const outcome = await rt.init;
        if (outcome.ok || this.stopping) return outcome;
      }
      if (this.stopping) return { ok: true, initDurationMs: 0 };
      // Until the next launch, or the agent stops.
      await new Promise<void>((resolve) => {
        const signal = this.abort.signal;
        if (signal.aborted) return resolve();
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.launchWaiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** The current runtime's init outcome, starting a runtime when there is none alive. */
  private runtime(): Promise<InitOutcome> {
    const rt = this.rt;
    if (rt && !rt.failed && rt.proc.alive) return rt.init;
    return this.launch().init;
  }

  private launch(): Runtime {
    const api = this.api!;
    const spec = this.spec!;
    let onReady!: () => void;
    let onInitError!: (e: RuntimeError) => void;
    const current = () => this.rt === rt;
    const external = this.o.externalRuntime === true;
    for (const note of this.notes) this.o.log(note);
    api.reset(
      {
        ready: () => onReady(),
        initError: (e) => onInitError(e),
        response: (id, body) => current() && this.settle(id, { kind: 'response', body }),
        error: (id, body) => current() && this.settle(id, { kind: 'error', body }),
        responseTooLarge: (id, size) => current() && this.settle(id, { kind: 'too-large', size }),
        ...(this.o.channel.stream && {
          stream: (id, contentType, body) => this.relay(current(), id, contentType, body),
          streamEnd: (id) => current() && this.settle(id, { kind: 'streamed' }),
        }),
      },
      external,
    );
    const restored = !external && snapStartOn(this.o.fn);
    const proc = external
      ? new ExternalRuntime(() => (this.needsRestart = true))
      : restored
        ? this.restore(
            (line) => this.runtimeLine(rt, line),
            (e) => onInitError(e),
          )
        : new RuntimeProcess(spec, this.o.codeDir, (line) => this.runtimeLine(rt, line));
    const rt: Runtime = {
      proc,
      restored,
      failed: false,
      retired: false,
      peakKiB: 0,
      peakReadAt: 0,
      heapExhausted: false,
      killedForMemory: false,
      init: new Promise<InitOutcome>((resolve) => {
        const timeoutMs = this.o.initTimeoutMs ?? 10_000;
        const timer = external
          ? undefined
          : setTimeout(
              () =>
                resolve({
                  ok: false,
                  error: {
                    errorType: 'Sandbox.Timedout',
                    errorMessage: `Error: Init phase timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
                  },
                }),
              timeoutMs,
            );
        const done = (o: InitOutcome) => {
          clearTimeout(timer);
          resolve(o);
        };
        onReady = () => {
          if (current()) this.needsRestart = false;
          done({ ok: true, initDurationMs: performance.now() - proc.startedAt });
        };
        onInitError = (error) => done({ ok: false, error });
        void proc.exited.then((exit) =>
          done({
            ok: false,
            error: {
              errorType: 'Runtime.ExitError',
              errorMessage: `Error: Runtime exited with error: ${describeExit(exit)}`,
            },
          }),
        );
      }).then((outcome) => {
        if (outcome.ok && rt.restored) rt.unreportedRestoreMs = outcome.initDurationMs;
        else if (outcome.ok) rt.unreportedInitMs = outcome.initDurationMs;
        else if (current()) {
          rt.failed = true;
          proc.kill();
          const line = this.platformLog.initFailed({
            durationMs: performance.now() - proc.startedAt,
            errorType: outcome.error.errorType,
          });
          if (line !== undefined) this.o.log(line);
        }
        return outcome;
      }),
    };
    void proc.exited.then((exit) => {
      let held = 0;
      for (const a of this.active.values()) {
        if (a.rt !== rt) continue;
        held++;
        a.settle({ kind: 'exit', exit });
      }
      if (this.rt !== rt || rt.retired || held > 0) return;
      if (!rt.failed && !this.stopping) {
        // A runtime that dies while idle is restarted now, so the next call finds it warm.
        this.o.log(`Error: Runtime exited with error: ${describeExit(exit)}`);
        void this.launch().init;
      }
    });
    this.rt = rt;
    for (const wake of this.launchWaiters.splice(0)) wake();
    return rt;
  }

  /**
   * A runtime restored from this version's snapshot (SnapStart), initialising the
   * snapshot first if this process has none; its init output is this environment's.
   */
  private restore(
    onLine: (line: string) => void,
    failed: (e: RuntimeError) => void,
  ): RestoredRuntime {
    const spec = this.spec!;
    const snapshot = snapshotOf(
      `${this.o.codeDir}\0${this.o.fn.version}`,
      spec,
      this.o.codeDir,
      (line) => this.o.log(line),
    );
    return new RestoredRuntime(snapshot, spec, this.o.codeDir, onLine, failed);
  }

  private runtimeLine(rt: Runtime, line: string): void {
    if (line.includes('JavaScript heap out of memory')) rt.heapExhausted = true;
    if (this.platformLog.keeps(line)) this.emit(line);
  }

  /** A line of the runtime's output, in the tail of the event it belongs to. */
  private emit(line: string): void {
    this.o.log(line);
    if (this.tails === 0) return;
    if (this.active.size === 1) {
      for (const a of this.active.values()) a.tail?.push(line);
      return;
    }
    // Several events at once: a line is theirs when it names them, as the
    // runtimes' log lines do.
    for (const a of this.active.values())
      if (a.tail && line.includes(a.inv.requestId)) a.tail.push(line);
  }

  /** One of the agent's own lines about this event; none when its log level drops it. */
  private own(active: Active, line: string | undefined): void {
    if (line === undefined) return;
    this.o.log(line);
    active.tail?.push(line);
  }

  private settle(requestId: string, ending: Ending): void {
    this.active.get(requestId)?.settle(ending);
  }

  /** Passes a streamed response on to the caller while the runtime writes it. */
  private relay(
    current: boolean,
    requestId: string,
    contentType: string,
    body: AsyncIterable<Buffer>,
  ): Promise<void> {
    const active = this.active.get(requestId);
    if (!current || !active) return drain(body);
    active.stream = relayStream(
      this.o.channel,
      this.o.worker,
      { requestId, contentType },
      body,
      this.o.streamLimits ?? LAMBDA_STREAM_LIMITS,
      (err) => this.warn('stream', err),
    );
    return active.stream.drained;
  }

  /**
   * Runs one event. `late` is set when the event timed out in an environment that
   * runs several at once: the runtime is not killed (the other events go on, as in
   * Lambda Managed Instances), and `late` settles once it answers or exits.
   */
  private async invoke(
    inv: Invocation,
  ): Promise<{ result: InvocationResult; late?: Promise<void> }> {
    const tail = inv.logTail ? new LogTail() : undefined;
    const active: Active = { inv, rt: this.rt!, tail, settle: () => {} };
    this.active.set(inv.requestId, active);
    if (tail) this.tails++;
    this.own(active, this.platformLog.start(inv.requestId));
    let outcome: InitOutcome;
    let rt: Runtime;
    let t0: number;
    let ending: Ending;
    for (;;) {
      outcome = await this.runtime();
      rt = this.rt!;
      active.rt = rt;
      t0 = performance.now();
      if (!outcome.ok) {
        ending = { kind: 'error', body: Buffer.from(JSON.stringify(outcome.error)) };
        break;
      }
      ending = await this.deliver(active, rt);
      // A runtime that died just before taking the event never saw it: start a new one.
      if (ending.kind === 'exit' && !this.api!.received(inv.requestId) && !this.stopping) continue;
      break;
    }
    const durationMs = performance.now() - t0;
    // The kernel's high-water mark (VmHWM) only grows, so reading it at most once per
    // watch interval loses no peak: under a stream of short calls a REPORT may show a
    // peak reached up to one interval earlier, and the /proc reads (two files per
    // process) are not paid on every call.
    const now = performance.now();
    const interval = this.o.watchIntervalMs ?? 100;
    if (rt.proc.alive && rt.proc.pid !== undefined && now - rt.peakReadAt >= interval) {
      rt.peakKiB = Math.max(rt.peakKiB, peakRssKiB(rt.proc.pid));
      rt.peakReadAt = now;
    }
    if (ending.kind === 'response' || ending.kind === 'streamed' || ending.kind === 'error') {
      const bytes = directoryBytes(this.o.tmpDir);
      if (bytes > this.o.fn.spec.ephemeralStorage.size * MiB) ending = { kind: 'storage', bytes };
      // Output the runtime wrote before answering may still sit in the pipe.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stream = active.stream;
    const overflow = stream?.overflow();
    if (overflow !== undefined && ending.kind === 'streamed') {
      ending = { kind: 'too-large', size: overflow };
    }
    const { payload, functionError, restart } = this.outcome(inv, ending, rt);
    if (restart) {
      rt.retired = true;
      rt.proc.kill();
    }
    // The caller must have the whole stream (or its cut) before the result that ends it.
    stream?.cut();
    await stream?.delivered;

    const initDurationMs = outcome.ok ? rt.unreportedInitMs : undefined;
    const restoreDurationMs = outcome.ok ? rt.unreportedRestoreMs : undefined;
    rt.unreportedInitMs = undefined;
    rt.unreportedRestoreMs = undefined;
    const result: InvocationResult = {
      requestId: inv.requestId,
      payload,
      durationMs: Math.round(durationMs * 100) / 100,
      billedDurationMs: billedMs(durationMs),
      maxMemoryUsedMB: Math.ceil(rt.peakKiB / 1024),
    };
    if (functionError) result.functionError = functionError;
    if (stream) result.streamed = true;
    if (initDurationMs !== undefined)
      result.initDurationMs = Math.round(initDurationMs * 100) / 100;
    const report: InvocationReport = {
      requestId: inv.requestId,
      durationMs: result.durationMs,
      billedDurationMs: result.billedDurationMs,
      memorySizeMB: this.o.fn.spec.memorySize,
      maxMemoryUsedMB: result.maxMemoryUsedMB,
      initDurationMs: result.initDurationMs,
      ...(restoreDurationMs !== undefined && {
        restoreDurationMs: Math.round(restoreDurationMs * 100) / 100,
      }),
      producedBytes: payload.length,
      ...invocationStatus(ending, payload, functionError !== undefined),
    };
    this.own(active, this.platformLog.end(report));
    this.own(active, this.platformLog.report(report));
    if (tail) result.logResult = tail.base64();
    if (ending.kind === 'timeout' && !restart) {
      // The runtime goes on with it; its answer, whenever it comes, frees the slot.
      this.stuck++;
      const late = new Promise<void>((resolve) => (active.settle = () => resolve())).then(() => {
        this.stuck--;
        this.done(active);
      });
      return { result, late };
    }
    this.done(active);
    if (restart && !this.stopping) {
      await rt.proc.exited;
      if (ending.kind === 'storage') this.emptyTmp();
      if (this.rt === rt) void this.launch().init;
    }
    return { result };
  }

  private done(active: Active): void {
    this.active.delete(active.inv.requestId);
    if (active.tail) this.tails--;
    this.api!.finished(active.inv.requestId);
  }

  /** One of the agent's own lines about the event `requestId`. */
  private about(requestId: string, line: string): void {
    const a = this.active.get(requestId);
    if (a) this.own(a, line);
    else this.o.log(line);
  }

  /** Hands the event to the runtime and waits for how the invocation ends. */
  private async deliver(active: Active, rt: Runtime): Promise<Ending> {
    const inv = active.inv;
    const ended = new Promise<Ending>((resolve) => (active.settle = resolve));
    const settle = active.settle;
    if (!rt.proc.alive) return { kind: 'exit', exit: await rt.proc.exited };
    this.api!.deliver(inv);
    const deadline = setTimeout(() => settle({ kind: 'timeout' }), inv.deadlineMs - Date.now());
    const watch = setInterval(() => this.watch(rt, settle), this.o.watchIntervalMs ?? 100);
    const ending = await ended;
    clearTimeout(deadline);
    clearInterval(watch);
    return ending;
  }

  /** Memory and /tmp of a running invocation, checked on an interval. */
  private watch(rt: Runtime, settle: (e: Ending) => void): void {
    const pid = rt.proc.pid;
    if (pid === undefined || !rt.proc.alive) return;
    if (rssKiB(pid) > this.o.fn.spec.memorySize * 1024) {
      rt.peakKiB = Math.max(rt.peakKiB, peakRssKiB(pid));
      rt.killedForMemory = true;
      settle({ kind: 'out-of-memory' });
      return;
    }
    const bytes = directoryBytes(this.o.tmpDir);
    if (bytes > this.o.fn.spec.ephemeralStorage.size * MiB) settle({ kind: 'storage', bytes });
  }

  private outcome(
    inv: Invocation,
    ending: Ending,
    rt: Runtime,
  ): { payload: Buffer; functionError?: 'Unhandled'; restart: boolean } {
    const id = inv.requestId;
    switch (ending.kind) {
      case 'response':
        return { payload: ending.body, restart: false };
      case 'streamed':
        return { payload: Buffer.alloc(0), restart: false };
      case 'error':
        return { payload: ending.body, functionError: 'Unhandled', restart: false };
      case 'too-large':
        return {
          payload: responseTooLargeError(
            ending.size,
            this.active.get(id)?.stream
              ? (this.o.streamLimits ?? LAMBDA_STREAM_LIMITS).maxBytes
              : MAX_RESPONSE_BYTES,
          ),
          functionError: 'Unhandled',
          restart: false,
        };
      case 'timeout': {
        const seconds = this.o.fn.spec.timeout;
        this.about(
          id,
          `${new Date().toISOString()} ${id} Task timed out after ${seconds.toFixed(2)} seconds`,
        );
        // One event at a time: the runtime is killed and re-initialised, as in Lambda.
        // Several: only this event fails (Lambda Managed Instances), unless every
        // other slot is already held by a timed-out event and nothing could run.
        const restart = this.slots === 1 || this.stuck + 1 >= this.slots;
        return { payload: timeoutError(id, seconds), functionError: 'Unhandled', restart };
      }
      case 'out-of-memory':
      case 'exit': {
        const oom = ending.kind === 'out-of-memory' || rt.heapExhausted || rt.killedForMemory;
        const how =
          ending.kind === 'exit' && !rt.killedForMemory
            ? describeExit(ending.exit)
            : 'signal: killed';
        const type = oom ? 'Runtime.OutOfMemory' : 'Runtime.ExitError';
        this.about(id, `RequestId: ${id} Error: Runtime exited with error: ${how}`);
        this.about(id, type);
        return { payload: exitError(id, how, type), functionError: 'Unhandled', restart: true };
      }
      case 'storage': {
        const usedMB = (ending.bytes / MiB).toFixed(1);
        const message = `RequestId: ${id} Error: /tmp holds ${usedMB} MB, over the ephemeral storage limit of ${this.o.fn.spec.ephemeralStorage.size} MB`;
        this.about(id, message);
        return {
          payload: Buffer.from(
            JSON.stringify({
              errorType: 'Runtime.EphemeralStorageExceeded',
              errorMessage: message,
            }),
          ),
          functionError: 'Unhandled',
          restart: true,
        };
      }
    }
  }

  private emptyTmp(): void {
    for (const name of readdirSync(this.o.tmpDir)) {
      rmSync(join(this.o.tmpDir, name), { recursive: true, force: true });
    }
  }

  private warn(what: string, err: unknown): void {
    this.o.log(
      `[selfless agent] channel ${what} failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** platform.report's status, and the error type of a failed invocation. */
function invocationStatus(
  ending: Ending,
  payload: Buffer,
  failed: boolean,
): Pick<InvocationReport, 'status' | 'errorType'> {
  if (!failed) return { status: 'success' };
  if (ending.kind === 'timeout') return { status: 'timeout' };
  let errorType: unknown;
  try {
    errorType = (JSON.parse(payload.toString('utf8')) as { errorType?: unknown }).errorType;
  } catch {
    // A body that is not JSON names no type.
  }
  return { status: 'error', ...(typeof errorType === 'string' && { errorType }) };
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of body) void chunk;
}
