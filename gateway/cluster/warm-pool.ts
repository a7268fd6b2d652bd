// The gateway's half of the warm pool (lib/warm-pool.ts): when a call of a function
// waits for a worker and a pool worker of its runtime idles in its namespace, the
// pool worker gets a specialization order (the function's definition and code) and
// becomes that function's worker, which then takes the waiting call from the queue.
// Orders go only to pool workers parked at that moment, so an order never waits:
// without an idle pool worker the call waits for the function's own workers, as it
// would without a pool. Pods that came from a pool go into the demand report, for
// the operator to adopt (relabel and own) and later replace: it reads them by name,
// and needs no right to list pods.
import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { splitKey } from '../../lib/function.ts';
import type { Logger } from '../../lib/log.ts';
import {
  decodeOrderAnswer,
  encodeOrder,
  parsePoolKey,
  podOfPoolWorker,
  poolKey,
  poolable,
} from '../../lib/warm-pool.ts';
import type { WorkerIdentity } from '../../lib/worker-channel/channel.ts';
import type { WorkerHub } from '../hub.ts';
import type { FunctionRegistry } from '../registry.ts';

/** Long enough for an agent to write the code, short of anything a caller would wait. */
const ORDER_TIMEOUT_SECONDS = 30;
/** How long a pod this replica specialized is reported before its worker connects. */
const REPORT_MS = 60_000;
const WITHDRAWN = 'Selfless.PoolOrderWithdrawn';

export interface WarmPoolOptions {
  hub: WorkerHub;
  registry: FunctionRegistry;
  metricsRegistry: Registry;
  log: Logger;
  now?: () => number;
}

export class WarmPool {
  /** Pool workers given an order, until they ask for their new function's work: worker id -> function key. */
  private readonly specializing = new Map<string, string>();
  /** Pods this replica specialized, per function key, with when (until their worker connects). */
  private readonly pods = new Map<string, Map<string, number>>();
  /** Workers from a pool connected to this replica, per function key: worker id -> pod. */
  private readonly connected = new Map<string, Map<string, string>>();
  /** The functions' own workers (not from a pool) connected to this replica, per key. */
  private readonly own = new Map<string, Set<string>>();
  private readonly poolKeys = new Set<string>();
  private readonly now: () => number;
  private readonly specializations: Counter<'namespace' | 'runtime' | 'outcome'>;
  private readonly seconds: Histogram<'runtime'>;

  constructor(private readonly o: WarmPoolOptions) {
    this.now = o.now ?? Date.now;
    const registers = [o.metricsRegistry];
    this.specializations = new Counter({
      name: 'selfless_pool_specializations_total',
      help: "Specialization orders to pool workers, by outcome (ok, failed, withdrawn: the worker took another replica's order)",
      labelNames: ['namespace', 'runtime', 'outcome'],
      registers,
    });
    this.seconds = new Histogram({
      name: 'selfless_pool_specialization_seconds',
      help: 'From a specialization order to the pool worker taking it on (code written)',
      labelNames: ['runtime'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    const keys = this.poolKeys;
    const hub = o.hub;
    new Gauge({
      name: 'selfless_pool_idle_workers',
      help: 'Pool workers of this gateway replica waiting for a function, per namespace and runtime',
      labelNames: ['namespace', 'runtime'],
      registers,
      collect() {
        this.reset();
        for (const key of keys) {
          const [namespace, runtime] = parsePoolKey(key)!;
          this.set({ namespace, runtime }, hub.idleWorkers(key).length);
        }
      },
    });
    o.hub.on('queued', (key) => this.onQueued(key));
    o.hub.on('idle', (w) => {
      if (parsePoolKey(w.functionName)) {
        this.poolKeys.add(w.functionName);
        return;
      }
      if (this.specializing.get(w.workerId) === w.functionName)
        this.specializing.delete(w.workerId);
      const pod = podOfPoolWorker(w.workerId);
      if (pod === undefined) {
        const own = this.own.get(w.functionName) ?? new Set<string>();
        this.own.set(w.functionName, own.add(w.workerId));
        return;
      }
      const workers = this.connected.get(w.functionName) ?? new Map<string, string>();
      workers.set(w.workerId, pod);
      this.connected.set(w.functionName, workers);
    });
    for (const event of ['initFailed', 'left'] as const) {
      o.hub.on(event, (w) => {
        this.specializing.delete(w.workerId);
        const workers = this.connected.get(w.functionName);
        workers?.delete(w.workerId);
        if (workers?.size === 0) this.connected.delete(w.functionName);
        const own = this.own.get(w.functionName);
        own?.delete(w.workerId);
        if (own?.size === 0) this.own.delete(w.functionName);
      });
    }
  }

  /**
   * Pods that came from a pool and serve `key`: those whose worker is connected to
   * this replica (whichever replica specialized them), and those this replica just
   * specialized whose worker has not asked for work yet.
   */
  specializedPods(key: string): string[] {
    const found = new Set(this.connected.get(key)?.values());
    const recent = this.pods.get(key);
    const now = this.now();
    for (const [pod, at] of recent ?? []) {
      if (now - at > REPORT_MS) recent!.delete(pod);
      else found.add(pod);
    }
    if (recent?.size === 0) this.pods.delete(key);
    return [...found].sort();
  }

  /** How many of the function's own workers have asked this replica for work and not left. */
  ownWorkers(key: string): number {
    return this.own.get(key)?.size ?? 0;
  }

  private onQueued(key: string): void {
    if (parsePoolKey(key)) {
      // Only a given-back order waits in a pool's queue (its worker took another
      // replica's): withdraw it, so no later pool worker serves a stale order.
      this.o.hub.drop(key, WITHDRAWN, 'the pool worker took another order');
      return;
    }
    const fn = this.o.registry.get(key);
    // A version's own workers come from its FunctionVersion: the pool serves $LATEST.
    if (!fn || fn.version !== undefined || !poolable(fn)) return;
    const pool = poolKey(fn.namespace, fn.spec.runtime);
    let coming = 0;
    for (const k of this.specializing.values()) if (k === key) coming++;
    const orders = Math.min(this.o.hub.queued(key) - coming, this.o.hub.idleWorkers(pool).length);
    for (let i = 0; i < orders; i++) this.order(key, pool);
  }

  private order(key: string, pool: string): void {
    const fn = this.o.registry.get(key)!;
    const requestId = randomUUID();
    const [namespace] = splitKey(pool);
    const runtime = fn.spec.runtime;
    const started = this.now();
    // The hub hands the order to a parked pool worker within invoke() (one is idle).
    let taker: string | undefined;
    const onBusy = (w: WorkerIdentity) => {
      if (w.functionName === pool) taker ??= w.workerId;
    };
    this.o.hub.on('busy', onBusy);
    const answered = this.o.hub.invoke({
      requestId,
      functionName: pool,
      // Not a function's: the channel only needs a name here.
      functionArn: pool,
      payload: encodeOrder(fn),
      timeoutSeconds: ORDER_TIMEOUT_SECONDS,
      logTail: false,
      enqueuedAt: started,
    });
    this.o.hub.off('busy', onBusy);
    // Coming until it asks for this function's work (or fails): more waiting calls
    // meanwhile are not each given another pool worker.
    if (taker) this.specializing.set(taker, key);
    void answered.then((result) => {
      const answer = result.functionError ? undefined : decodeOrderAnswer(result.payload);
      if (!answer) {
        if (taker) this.specializing.delete(taker);
        const withdrawn = result.payload.includes(WITHDRAWN);
        this.specializations.inc({
          namespace,
          runtime,
          outcome: withdrawn ? 'withdrawn' : 'failed',
        });
        if (withdrawn) queueMicrotask(() => this.onQueued(key));
        else
          this.o.log.warn('pool worker refused a specialization', {
            function: key,
            error: result.payload.toString('utf8').slice(0, 500),
          });
        return;
      }
      this.specializations.inc({ namespace, runtime, outcome: 'ok' });
      this.seconds.observe({ runtime }, (this.now() - started) / 1000);
      const pods = this.pods.get(key) ?? new Map<string, number>();
      pods.set(answer.pod, this.now());
      this.pods.set(key, pods);
      this.o.log.info('pool worker specialized', { function: key, pod: answer.pod });
    });
  }
}
