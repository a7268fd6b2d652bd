// GET /capacity/<table>: what a table and each of its GSIs consumed per minute and
// may consume, cluster-wide when the bucket store is Redis. The operator's auto
// scaling reads it (the service's stand-in for CloudWatch's ConsumedReadCapacityUnits
// and ConsumedWriteCapacityUnits, which it would read on AWS).
import type { StorageEngine } from '../storage/engine.ts';
import type { BucketStore } from './buckets.ts';
import { indexBudget, tableBudget, type Kind } from './budgets.ts';

export interface KindReport {
  /** Units per second allowed; 0 when unbounded. */
  provisioned: number;
  /** Average units per second consumed in each of the last minutes, oldest first. */
  consumedPerSecond: number[];
}

export interface CapacityReport {
  table: string;
  read: KindReport;
  write: KindReport;
  globalSecondaryIndexes: Record<string, { read: KindReport; write: KindReport }>;
}

export async function capacityReport(
  engine: StorageEngine,
  store: BucketStore,
  name: string,
  now: number,
  minutes = 5,
): Promise<CapacityReport | undefined> {
  const meta = await engine.getTable(name);
  if (!meta) return undefined;
  const one = async (index: string | undefined, kind: Kind): Promise<KindReport> => {
    const b = index === undefined ? tableBudget(meta, kind) : indexBudget(meta, index, kind);
    const key = `${meta.id}:${index ?? ''}:${kind === 'read' ? 'r' : 'w'}`;
    const per = await store.consumed(key, now, minutes);
    return {
      provisioned: b?.spec.rate ?? 0,
      consumedPerSecond: [...per.values()].map((u) => u / 60),
    };
  };
  const report: CapacityReport = {
    table: name,
    read: await one(undefined, 'read'),
    write: await one(undefined, 'write'),
    globalSecondaryIndexes: {},
  };
  for (const i of meta.indexes ?? []) {
    if (i.local) continue;
    report.globalSecondaryIndexes[i.name] = {
      read: await one(i.name, 'read'),
      write: await one(i.name, 'write'),
    };
  }
  return report;
}
