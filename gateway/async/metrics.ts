// Prometheus instruments of the async queue and the scheduler, registered on the
// gateway's registry. Depth and oldest age are read from the store at scrape time,
// so every replica reports the cluster-wide queue.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventStore } from './store.ts';

export function makeAsyncMetrics(registry: Registry, store: EventStore, clock: () => number) {
  let stats: ReturnType<EventStore['stats']> | undefined;
  // One store read per scrape serves both gauges.
  const read = () =>
    (stats ??= store.stats().finally(() => setImmediate(() => (stats = undefined))));
  return {
    depth: new Gauge({
      name: 'selfless_async_queue_depth',
      help: 'Events accepted and not finished, by state (ready, delayed, leased).',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        try {
          const s = await read();
          for (const state of ['ready', 'delayed', 'leased'] as const) {
            this.set({ state }, s[state]);
          }
        } catch {
          // Redis unreachable: the scrape still answers, with the last values.
        }
      },
    }),
    oldestAge: new Gauge({
      name: 'selfless_async_oldest_event_age_seconds',
      help: 'Age of the oldest event not finished (0 when the queue is empty).',
      registers: [registry],
      async collect() {
        try {
          const s = await read();
          this.set(s.oldestEnqueuedAt === undefined ? 0 : (clock() - s.oldestEnqueuedAt) / 1000);
        } catch {
          // as above
        }
      },
    }),
    retries: new Counter({
      name: 'selfless_async_retries_total',
      help: 'Attempts that failed and were scheduled again, by cause.',
      labelNames: ['cause'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'selfless_async_dead_letters_total',
      help: 'Events dead-lettered, by function and condition.',
      labelNames: ['function', 'condition'] as const,
      registers: [registry],
    }),
    dispatchLag: new Histogram({
      name: 'selfless_async_dispatch_lag_seconds',
      help: 'Time from an attempt being due to a dispatcher taking it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    scheduleFirings: new Counter({
      name: 'selfless_schedule_firings_total',
      help: 'Schedule ticks turned into async events, by function.',
      labelNames: ['function'] as const,
      registers: [registry],
    }),
  };
}

export type AsyncMetrics = ReturnType<typeof makeAsyncMetrics>;
