// Every Prometheus instrument of the gateway, built once and injected. Names follow
// Prometheus conventions: base units, _total counters, _seconds histograms.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type InvocationOutcome = 'success' | 'function_error' | 'timeout' | 'throttled' | 'error';

const durationBuckets = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
];

export function makeGatewayMetrics(
  registry = new Registry(),
  opts: { defaultMetrics?: boolean } = {},
) {
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    invocations: new Counter({
      name: 'selfless_function_invocations_total',
      help: 'Invocations by function and outcome.',
      labelNames: ['function', 'outcome'] as const,
      registers: [registry],
    }),
    throttles: new Counter({
      name: 'selfless_function_throttles_total',
      help: 'Synchronous invocations answered 429, by reason.',
      labelNames: ['function', 'reason'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'selfless_function_duration_seconds',
      help: 'Execution time of invocations as the runtime reports it.',
      labelNames: ['function'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    initDuration: new Histogram({
      name: 'selfless_function_init_duration_seconds',
      help: 'Initialisation time of new execution environments (cold starts).',
      labelNames: ['function'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    coldStarts: new Counter({
      name: 'selfless_function_cold_starts_total',
      help: 'Execution environments started.',
      labelNames: ['function'] as const,
      registers: [registry],
    }),
    workerWaitExpired: new Counter({
      name: 'selfless_function_worker_wait_expired_total',
      help: 'Invocations answered with their timeout because no environment took them in time (timeout plus the cold-start allowance).',
      labelNames: ['function'] as const,
      registers: [registry],
    }),
    concurrent: new Gauge({
      name: 'selfless_function_concurrent_executions',
      help: 'Invocations admitted and not yet answered.',
      labelNames: ['function'] as const,
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'selfless_lambda_api_requests_total',
      help: 'Lambda control-plane calls (CreateFunction, PublishVersion, ...) by action and HTTP status.',
      labelNames: ['action', 'status'] as const,
      registers: [registry],
    }),
    billedGbSeconds: new Counter({
      name: 'selfless_function_billed_gb_seconds_total',
      help: 'Billed duration times memory size, in GB-seconds, as Lambda bills.',
      labelNames: ['function'] as const,
      registers: [registry],
    }),
    streamedBytes: new Counter({
      name: 'selfless_function_streamed_response_bytes_total',
      help: 'Bytes of responses streamed to callers (InvokeWithResponseStream, RESPONSE_STREAM URLs).',
      labelNames: ['function'] as const,
      registers: [registry],
    }),
    recursiveDropped: new Counter({
      name: 'selfless_recursive_invocations_dropped_total',
      help: "Invocations not run because their chain passed 16 invocations of the function (Lambda's RecursiveInvocationsDropped).",
      labelNames: ['function'] as const,
      registers: [registry],
    }),
    urlRequests: new Counter({
      name: 'selfless_function_url_requests_total',
      help: 'Requests to Function URLs, by function and HTTP status class.',
      labelNames: ['function', 'status'] as const,
      registers: [registry],
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof makeGatewayMetrics>;
