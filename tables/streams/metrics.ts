// The Prometheus instruments of streams and TTL, built once per registry beside
// the service's own (tables/metrics.ts).
import { Counter, type Registry } from 'prom-client';
import { onRecordWritten } from './model.ts';

export interface StreamsMetrics {
  streamRecordsRead(table: string, n: number): void;
  ttlDeletions(table: string, n: number): void;
}

function counter(registry: Registry, name: string, help: string): Counter {
  return (
    (registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help, labelNames: ['table'], registers: [registry] })
  );
}

export function makeStreamsMetrics(registry: Registry): StreamsMetrics {
  const written = counter(
    registry,
    'selfless_tables_stream_records_written_total',
    'Stream records written with the item changes they describe.',
  );
  const read = counter(
    registry,
    'selfless_tables_stream_records_read_total',
    'Stream records answered by GetRecords.',
  );
  const ttl = counter(
    registry,
    'selfless_tables_ttl_deletions_total',
    'Items deleted by the TTL expirer because their TTL attribute had passed.',
  );
  onRecordWritten((table) => written.inc({ table }));
  return {
    streamRecordsRead(table, n) {
      if (n) read.inc({ table }, n);
    },
    ttlDeletions(table, n) {
      ttl.inc({ table }, n);
    },
  };
}
