// Every Prometheus instrument of the table service, built once per registry.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ActionObserver } from './actions/context.ts';

export interface TablesMetrics extends ActionObserver {
  request(action: string, outcome: string, seconds: number): void;
  storageError(action: string): void;
}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function makeTablesMetrics(registry: Registry): TablesMetrics {
  const registers = [registry];
  const requests = metric(
    registry,
    'selfless_tables_requests_total',
    () =>
      new Counter({
        name: 'selfless_tables_requests_total',
        help: 'DynamoDB API requests by action and outcome (ok or the error type).',
        labelNames: ['action', 'outcome'],
        registers,
      }),
  );
  const duration = metric(
    registry,
    'selfless_tables_request_duration_seconds',
    () =>
      new Histogram({
        name: 'selfless_tables_request_duration_seconds',
        help: 'Time to answer a DynamoDB API request.',
        labelNames: ['action'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers,
      }),
  );
  const capacity = metric(
    registry,
    'selfless_tables_consumed_capacity_units_total',
    () =>
      new Counter({
        name: 'selfless_tables_consumed_capacity_units_total',
        help: 'Read and write capacity units consumed, by DynamoDB arithmetic.',
        labelNames: ['table', 'kind'],
        registers,
      }),
  );
  const conditional = metric(
    registry,
    'selfless_tables_conditional_check_failures_total',
    () =>
      new Counter({
        name: 'selfless_tables_conditional_check_failures_total',
        help: 'Writes refused because their condition was false.',
        labelNames: ['table'],
        registers,
      }),
  );
  const storage = metric(
    registry,
    'selfless_tables_storage_errors_total',
    () =>
      new Counter({
        name: 'selfless_tables_storage_errors_total',
        help: 'Requests that failed in the storage engine (answered 500).',
        labelNames: ['action'],
        registers,
      }),
  );
  return {
    request(action, outcome, seconds) {
      requests.inc({ action, outcome });
      duration.observe({ action }, seconds);
    },
    capacity(table, kind, units) {
      capacity.inc({ table, kind }, units);
    },
    conditionalCheckFailed(table) {
      conditional.inc({ table });
    },
    storageError(action) {
      storage.inc({ action });
    },
  };
}
