// The worker pool decides how many execution environments each function has:
// a new one when an invocation waits and none is starting for it (a cold start),
// enough for provisionedConcurrentExecutions at all times (initialised before any
// call; a published version's from the function's provisionedConcurrencyConfigs), none that sat idle longer than the idle timeout beyond that floor, and
// none running an outdated definition. Counts are of events: an environment runs
// perExecutionEnvironmentMaxConcurrency of them, so N waiting events need
// ceil(N / that) environments. Drivers (process, kubernetes) only start
// and stop environments; the hub tells the pool what they are doing.
import { randomUUID } from 'node:crypto';
import { keyOf, maxConcurrency, type FunctionDefinition } from '../lib/function.ts';
import { provisionedForVersion } from '../lib/provisioned-concurrency.ts';
import type { Logger } from '../lib/log.ts';
import type { WorkerChannel, WorkerIdentity } from '../lib/worker-channel/channel.ts';
import type { WorkerHub } from './hub.ts';
import { workerKeyOf, type FunctionRegistry } from './registry.ts';

export interface EnvironmentHandle {
  /** Resolves when the environment is gone, for whatever reason. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

export interface Driver {
  readonly name: string;
  /** Starts an environment whose agent takes its work from `channel`. */
  start(
    fn: FunctionDefinition,
    worker: WorkerIdentity,
    channel: WorkerChannel,
  ): Promise<EnvironmentHandle>;
  /** Releases what the driver holds (code copies, connections). */
  close?(): Promise<void>;
}

type State = 'starting' | 'idle' | 'busy';

interface Environment {
  worker: WorkerIdentity;
  version: number;
  state: State;
  stopping: boolean;
  handle?: EnvironmentHandle;
}

export interface PoolOptions {
  /** Idle environments beyond the provisioned floor are stopped after this long. */
  idleTimeoutMs: number;
  log: Logger;
  onColdStart?: (functionName: string) => void;
}

export class WorkerPool {
  private readonly envs = new Map<string, Environment>();
  private readonly reaper: NodeJS.Timeout;
  private closed = false;
  private readonly initFailures = new Map<string, number>();

  constructor(
    private readonly hub: WorkerHub,
    private readonly registry: FunctionRegistry,
    private readonly driver: Driver,
    private readonly opts: PoolOptions,
  ) {
    hub.canTake = (w) => {
      const env = this.envs.get(w.workerId);
      return env !== undefined && !env.stopping && env.version === registry.version(w.functionName);
    };
    hub.on('queued', (name) => this.scale(name));
    hub.on('idle', (w) => this.onIdle(w));
    hub.on('busy', (w) => this.setState(w, 'busy'));
    hub.on('initFailed', (w) => void this.stopEnvironment(w.workerId));
    registry.on('changed', (fn, previous) => {
      if (previous) this.retireOutdated(workerKeyOf(fn));
      this.ensureProvisioned(workerKeyOf(fn));
      // $LATEST holds its versions' provisioned concurrency configs.
      if (fn.version === undefined)
        for (const v of registry.versionsOf(keyOf(fn))) this.ensureProvisioned(workerKeyOf(v));
    });
    registry.on('removed', (fn) => {
      hub.drop(
        workerKeyOf(fn),
        'ResourceNotFoundException',
        `Function ${workerKeyOf(fn)} was removed`,
      );
      for (const env of this.environments(workerKeyOf(fn)))
        void this.stopEnvironment(env.worker.workerId);
    });
    const tick = Math.max(100, Math.min(1000, opts.idleTimeoutMs / 4));
    this.reaper = setInterval(() => this.reap(), tick);
    this.reaper.unref();
    for (const fn of registry.served()) this.ensureProvisioned(workerKeyOf(fn));
  }

  environments(functionName: string): Environment[] {
    return [...this.envs.values()].filter((e) => e.worker.functionName === functionName);
  }

  count(functionName: string, state?: State): number {
    return this.environments(functionName).filter(
      (e) => !e.stopping && (!state || e.state === state),
    ).length;
  }

  /** Events one environment of the function runs at once. */
  private slots(functionName: string): number {
    const fn = this.registry.get(functionName);
    return fn ? maxConcurrency(fn) : 1;
  }

  private scale(functionName: string): void {
    const slots = this.slots(functionName);
    // Slots on their way: environments starting, and answered slots about to ask again.
    const coming =
      this.count(functionName, 'starting') * slots + this.hub.returningWorkers(functionName);
    const missing = Math.ceil((this.hub.queued(functionName) - coming) / slots);
    for (let i = 0; i < missing; i++) this.startEnvironment(functionName);
  }

  /**
   * Environments that hold the definition's provisioned concurrency (in events):
   * $LATEST's spec.provisionedConcurrentExecutions; a version's from the function's
   * provisionedConcurrencyConfigs (its own, and its share of an alias's).
   */
  private provisioned(fn: FunctionDefinition): number {
    let events = fn.spec.provisionedConcurrentExecutions;
    if (fn.version !== undefined) {
      const key = keyOf(fn);
      events = provisionedForVersion(
        this.registry.get(key)?.spec.provisionedConcurrencyConfigs ?? [],
        (alias) => this.registry.aliasRoute(key, alias),
        fn.version,
      );
    }
    return Math.ceil(events / maxConcurrency(fn));
  }

  private ensureProvisioned(functionName: string): void {
    const fn = this.registry.get(functionName);
    if (!fn) return;
    const missing = this.provisioned(fn) - this.count(functionName);
    for (let i = 0; i < missing; i++) this.startEnvironment(functionName);
  }

  private startEnvironment(functionName: string): void {
    const fn = this.registry.get(functionName);
    if (!fn || this.closed) return;
    const worker: WorkerIdentity = {
      workerId: `${functionName}-${randomUUID().slice(0, 8)}`,
      functionName,
    };
    const env: Environment = {
      worker,
      version: this.registry.version(functionName),
      state: 'starting',
      stopping: false,
    };
    this.envs.set(worker.workerId, env);
    this.opts.onColdStart?.(functionName);
    this.opts.log.debug('starting environment', {
      function: functionName,
      worker: worker.workerId,
    });
    this.driver.start(fn, worker, this.hub).then(
      (handle) => {
        env.handle = handle;
        if (env.stopping || this.closed) void handle.stop();
        void handle.exited.then(() => this.onExit(env));
      },
      (err: unknown) => {
        this.opts.log.error('environment failed to start', {
          function: functionName,
          worker: worker.workerId,
          err,
        });
        this.envs.delete(worker.workerId);
        // The invocation this environment was started for gets the failure.
        const message = err instanceof Error ? err.message : String(err);
        void this.hub.initFailed(worker, { errorType: 'Runtime.InitError', errorMessage: message });
      },
    );
  }

  private onIdle(worker: WorkerIdentity): void {
    const env = this.envs.get(worker.workerId);
    if (!env) return;
    env.state = 'idle';
    if (env.version !== this.registry.version(worker.functionName)) {
      // Give the hub a tick to park it, then take it out of rotation.
      setImmediate(() => {
        if (this.hub.retire(worker.functionName, worker.workerId))
          void this.stopEnvironment(worker.workerId);
      });
    }
  }

  private setState(worker: WorkerIdentity, state: State): void {
    const env = this.envs.get(worker.workerId);
    if (env) env.state = state;
  }

  private retireOutdated(functionName: string): void {
    const current = this.registry.version(functionName);
    for (const env of this.environments(functionName)) {
      if (env.version === current) continue;
      if (env.state === 'starting' || this.hub.retire(functionName, env.worker.workerId)) {
        void this.stopEnvironment(env.worker.workerId);
      }
      // Busy ones are stopped when they next go idle (onIdle).
    }
  }

  private reap(): void {
    const now = Date.now();
    for (const fn of this.registry.served()) {
      // An alias moved to another version changes no definition: the floor follows here.
      if (!this.initFailures.has(workerKeyOf(fn))) this.ensureProvisioned(workerKeyOf(fn));
      let surplus = this.count(workerKeyOf(fn)) - this.provisioned(fn);
      for (const idle of this.hub.idleWorkers(workerKeyOf(fn))) {
        if (surplus <= 0) break;
        if (now - idle.since < this.opts.idleTimeoutMs) continue;
        if (this.hub.retire(workerKeyOf(fn), idle.workerId)) {
          surplus--;
          void this.stopEnvironment(idle.workerId);
        }
      }
    }
  }

  private async stopEnvironment(workerId: string): Promise<void> {
    const env = this.envs.get(workerId);
    if (!env || env.stopping) return;
    env.stopping = true;
    this.opts.log.debug('stopping environment', {
      function: env.worker.functionName,
      worker: workerId,
    });
    await env.handle?.stop();
  }

  private onExit(env: Environment): void {
    this.envs.delete(env.worker.workerId);
    void this.hub.leave(env.worker);
    if (this.closed) return;
    const name = env.worker.functionName;
    if (env.state === 'starting') {
      // It never initialised: refilling the provisioned floor at once would spin on
      // broken code, so back off. Waiting invocations still get one attempt each.
      const failures = (this.initFailures.get(name) ?? 0) + 1;
      this.initFailures.set(name, failures);
      const t = setTimeout(
        () => this.ensureProvisioned(name),
        Math.min(30_000, 500 * 2 ** failures),
      );
      t.unref();
    } else {
      this.initFailures.delete(name);
      this.ensureProvisioned(name);
    }
    this.scale(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    await Promise.all([...this.envs.values()].map((e) => this.stopEnvironment(e.worker.workerId)));
    await Promise.all([...this.envs.values()].map((e) => e.handle?.exited));
    await this.driver.close?.();
  }
}
