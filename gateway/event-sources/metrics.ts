// Event source mapping metrics, on the gateway's registry beside its own. IteratorAge
// is Lambda's: how old the last record of a batch was when the batch was handed to
// the function (milliseconds), the lag between the stream and its consumer. Failed
// calls to the table service are counted by their error type, so a refused
// signature (a wrong table-service key) shows on a dashboard, not only in the logs.
import { Counter, Gauge, type Registry } from 'prom-client';

export function makeEventSourceMetrics(registry: Registry) {
  const labelNames = ['mapping', 'function'] as const;
  return {
    recordsRead: new Counter({
      name: 'selfless_event_source_records_read_total',
      help: 'Stream records read by event source mappings.',
      labelNames,
      registers: [registry],
    }),
    recordsFiltered: new Counter({
      name: 'selfless_event_source_records_filtered_total',
      help: 'Stream records dropped by a mapping filter (counted as processed).',
      labelNames,
      registers: [registry],
    }),
    iteratorAge: new Gauge({
      name: 'selfless_event_source_iterator_age_milliseconds',
      help: "Age of the last record of the latest batch when it was sent to the function (Lambda's IteratorAge).",
      labelNames,
      registers: [registry],
    }),
    invocations: new Counter({
      name: 'selfless_event_source_invocations_total',
      help: 'Invocations by event source mappings, by outcome (success, function_error, throttled, error).',
      labelNames: [...labelNames, 'outcome'],
      registers: [registry],
    }),
    batchesFailed: new Counter({
      name: 'selfless_event_source_batches_failed_total',
      help: 'Batches whose invocation failed (each failed attempt).',
      labelNames,
      registers: [registry],
    }),
    batchesDiscarded: new Counter({
      name: 'selfless_event_source_batches_discarded_total',
      help: 'Batches given up on and sent to the on-failure destination, by condition.',
      labelNames: [...labelNames, 'condition'],
      registers: [registry],
    }),
    streamErrors: new Counter({
      name: 'selfless_event_source_stream_errors_total',
      help: "Failed calls to the table service's DynamoDB and Streams API, by action and error type (InvalidSignatureException, UnrecognizedClientException: the gateway's table-service key is wrong).",
      labelNames: ['action', 'error'],
      registers: [registry],
    }),
  };
}

export type EventSourceMetrics = ReturnType<typeof makeEventSourceMetrics>;
