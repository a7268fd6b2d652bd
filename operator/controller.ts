// Runs one reconciler: keys from the queue, a few workers, the error policy of
// STYLE.md (a thrown error is transient: retry with per-key backoff; a result may
// ask for time-based requeue), and the metrics of every reconcile.
import type { Logger } from '../lib/log.ts';
import { describeError, isConflict } from './errors.ts';
import type { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from '../lib/kubernetes/queue.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface Reconciler {
  kind: string;
  reconcile(key: string): Promise<ReconcileResult | void>;
}

export class Controller {
  readonly queue = new WorkQueue();
  private running: Promise<void>[] = [];

  constructor(
    private readonly reconciler: Reconciler,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly workers = 2,
  ) {}

  start(): void {
    for (let i = 0; i < this.workers; i++) this.running.push(this.work());
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.running);
    this.running = [];
  }

  private async work(): Promise<void> {
    const kind = this.reconciler.kind;
    for (;;) {
      this.metrics.queueDepth.set({ kind }, this.queue.depth);
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = this.metrics.duration.startTimer({ kind });
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs);
          this.metrics.reconciles.inc({ kind, result: 'requeue' });
        } else this.metrics.reconciles.inc({ kind, result: 'ok' });
      } catch (err) {
        const delayMs = this.queue.addRateLimited(key);
        this.metrics.reconciles.inc({ kind, result: 'error' });
        this.metrics.errors.inc({ kind });
        const fields = { kind, key, delayMs, error: describeError(err) };
        if (isConflict(err)) this.log.debug('object changed meanwhile, reconciling again', fields);
        else this.log.warn('reconcile failed, retrying', fields);
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }
}
