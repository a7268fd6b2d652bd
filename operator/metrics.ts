// The operator's own Prometheus instruments, on a registry of their own so several
// operators (tests, or the operator beside another component) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'kind' | 'result'>;
  errors: Counter<'kind'>;
  duration: Histogram<'kind'>;
  queueDepth: Gauge<'kind'>;
  leader: Gauge;
}

export function makeOperatorMetrics(opts: { defaultMetrics?: boolean } = {}): OperatorMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics)
    collectDefaultMetrics({ register: registry, prefix: 'selfless_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'selfless_operator_reconciles_total',
      help: 'Reconciles by kind and result (ok, requeue, error).',
      labelNames: ['kind', 'result'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'selfless_operator_reconcile_errors_total',
      help: 'Reconciles that failed and were retried with backoff.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'selfless_operator_reconcile_duration_seconds',
      help: 'Time one reconcile took.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'selfless_operator_queue_depth',
      help: 'Keys waiting in the work queue.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'selfless_operator_leader',
      help: '1 while this replica holds the leader lease.',
      registers: [registry],
    }),
  };
}
