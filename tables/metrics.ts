// Every Prometheus instrument of the table service, built once per registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ActionObserver } from './actions/context.ts';
import type { CapacityMetrics } from './capacity/guard.ts';
import type { CacheMetrics } from './cache/read-cache.ts';

export interface TablesMetrics extends ActionObserver {
  request(action: string, outcome: string, seconds: number): void;
  storageError(action: string): void;
  capacityMetrics: CapacityMetrics;
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
  const indexCapacity = metric(
    registry,
    'selfless_tables_index_consumed_capacity_units_total',
    () =>
      new Counter({
        name: 'selfless_tables_index_consumed_capacity_units_total',
        help: 'The part of the consumed units that global secondary indexes consumed.',
        labelNames: ['table', 'index', 'kind'],
        registers,
      }),
  );
  const provisioned = metric(
    registry,
    'selfless_tables_provisioned_capacity_units',
    () =>
      new Gauge({
        name: 'selfless_tables_provisioned_capacity_units',
        help: 'Units per second a bounded table or GSI may consume (provisioned, or the on-demand maximum); index "" is the table.',
        labelNames: ['table', 'index', 'kind'],
        registers,
      }),
  );
  const throttled = metric(
    registry,
    'selfless_tables_throttled_requests_total',
    () =>
      new Counter({
        name: 'selfless_tables_throttled_requests_total',
        help: 'Requests refused because a table or GSI budget could not pay; index "" is the table.',
        labelNames: ['table', 'index', 'kind'],
        registers,
      }),
  );
  return {
    capacityMetrics: {
      throttled(table, index, kind) {
        throttled.inc({ table, index, kind });
      },
      provisioned(table, index, kind, units) {
        provisioned.set({ table, index, kind }, units);
      },
    },
    indexCapacity(table, index, kind, units) {
      indexCapacity.inc({ table, index, kind }, units);
    },
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

/** The read cache's instruments (tables/cache/read-cache.ts). */
export function makeCacheMetrics(registry: Registry): CacheMetrics {
  const registers = [registry];
  const lookups = metric(
    registry,
    'selfless_tables_cache_lookups_total',
    () =>
      new Counter({
        name: 'selfless_tables_cache_lookups_total',
        help: 'Read cache lookups by table, cache (item or query) and outcome (hit or miss).',
        labelNames: ['table', 'cache', 'outcome'],
        registers,
      }),
  );
  const evictions = metric(
    registry,
    'selfless_tables_cache_evictions_total',
    () =>
      new Counter({
        name: 'selfless_tables_cache_evictions_total',
        help: 'Entries the read cache dropped to stay within its memory bound.',
        registers,
      }),
  );
  const bytes = metric(
    registry,
    'selfless_tables_cache_bytes',
    () =>
      new Gauge({
        name: 'selfless_tables_cache_bytes',
        help: 'Estimated bytes held by the read cache.',
        registers,
      }),
  );
  return {
    lookup(table, cache, hit) {
      lookups.inc({ table, cache, outcome: hit ? 'hit' : 'miss' });
    },
    evicted() {
      evictions.inc();
    },
    bytes(n) {
      bytes.set(n);
    },
  };
}
