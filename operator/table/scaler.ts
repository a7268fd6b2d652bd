// Applies target tracking (autoscaling.ts) to a Table whose spec has autoScaling:
// reads the consumed capacity from the table service (GET /capacity/<table>, the
// per-minute averages of every replica when the service keeps its budgets in Redis),
// decides per kind, sends one UpdateTable with both kinds, and records an Event on the
// Table. Scaling history (for cooldowns) is kept in the operator's memory: a new
// leader starts without it, so its first decision waits for no cooldown.
import {
  UpdateTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import type { ScalingSpec, TableSpec } from '../../lib/table.ts';
import { decide, lowAlarmMinutes, type ScalingHistory } from './autoscaling.ts';

interface KindReport {
  provisioned: number;
  consumedPerSecond: number[];
}
export interface CapacityReport {
  read: KindReport;
  write: KindReport;
}

/** The table service's /capacity report of a table over the last `minutes` minutes. */
export type CapacityReader = (
  table: string,
  minutes: number,
) => Promise<CapacityReport | undefined>;

export function httpCapacityReader(tablesUrl: string): CapacityReader {
  return async (table, minutes) => {
    const res = await fetch(
      `${tablesUrl.replace(/\/$/, '')}/capacity/${encodeURIComponent(table)}?minutes=${minutes}`,
    );
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`capacity report of ${table}: HTTP ${res.status}`);
    return (await res.json()) as CapacityReport;
  };
}

export interface ScalerDeps {
  dynamodb: DynamoDBClient;
  capacity: CapacityReader;
  /** Events on the Table: (type, reason, message). */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
  now?: () => number;
}

export function makeScaler(deps: Omit<ScalerDeps, 'event'>) {
  const histories = new Map<string, Record<'read' | 'write', ScalingHistory>>();
  const now = deps.now ?? Date.now;
  return async function scale(
    name: string,
    desc: TableDescription,
    spec: TableSpec,
    event: ScalerDeps['event'],
  ): Promise<void> {
    const policies = spec.autoScaling;
    if (!policies || (desc.BillingModeSummary?.BillingMode ?? 'PROVISIONED') !== 'PROVISIONED') {
      return;
    }
    // One more minute than the low alarm needs: the last one is still filling.
    const report = await deps.capacity(name, lowAlarmMinutes + 1);
    if (!report) return;
    const t = now();
    let history = histories.get(name);
    if (!history) histories.set(name, (history = { read: {}, write: {} }));
    const have = {
      read: desc.ProvisionedThroughput?.ReadCapacityUnits ?? 0,
      write: desc.ProvisionedThroughput?.WriteCapacityUnits ?? 0,
    };
    const next = { ...have };
    const reasons: string[] = [];
    for (const kind of ['read', 'write'] as const) {
      const policy: ScalingSpec | undefined = policies[kind];
      if (!policy) continue;
      const minutes = report[kind].consumedPerSecond.slice(0, -1);
      const d = decide(policy, have[kind], minutes, history[kind], t);
      if (!d) continue;
      next[kind] = d.capacity;
      reasons.push(`${kind} ${have[kind]} -> ${d.capacity}: ${d.reason}`);
    }
    if (next.read === have.read && next.write === have.write) return;
    try {
      await deps.dynamodb.send(
        new UpdateTableCommand({
          TableName: name,
          ProvisionedThroughput: { ReadCapacityUnits: next.read, WriteCapacityUnits: next.write },
        }),
      );
    } catch (err) {
      event('Warning', 'ScalingFailed', `${reasons.join('; ')}: ${(err as Error).message}`);
      return;
    }
    for (const kind of ['read', 'write'] as const) {
      if (next[kind] > have[kind]) history[kind].lastScaleOut = t;
      if (next[kind] < have[kind]) history[kind].lastScaleIn = t;
    }
    const out = next.read > have.read || next.write > have.write;
    event('Normal', out ? 'ScaledOut' : 'ScaledIn', reasons.join('; '));
  };
}
