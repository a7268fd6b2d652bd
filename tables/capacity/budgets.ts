// What a table may consume, read from its description as DynamoDB states it:
// PROVISIONED tables and their GSIs fill at ReadCapacityUnits / WriteCapacityUnits
// per second with 300 s of burst credit; PAY_PER_REQUEST tables are unbounded
// unless OnDemandThroughput caps them (MaxReadRequestUnits / MaxWriteRequestUnits,
// -1 or absent for no cap), a per-second ceiling with one second of headroom and no
// burst credit. Local secondary indexes share the table's budget, as on DynamoDB.
import { indexArn } from '../../lib/names.ts';
import type { IndexMeta, TableMeta } from '../storage/engine.ts';
import type { BucketSpec } from './buckets.ts';

export type Kind = 'read' | 'write';

/** DynamoDB retains up to five minutes of unused read and write capacity. */
export const burstSeconds = 300;

export interface Budget {
  spec: BucketSpec;
  mode: 'provisioned' | 'on-demand';
  /** Where it applies: the table, or a global secondary index by name. */
  index?: string;
  /** The ARN ThrottlingReasons names. */
  resource: string;
}

type Description = Record<string, unknown>;

function billingMode(d: Description): string {
  return (
    (d.BillingModeSummary as { BillingMode?: string } | undefined)?.BillingMode ?? 'PROVISIONED'
  );
}

function budgetOf(
  meta: TableMeta,
  d: Description,
  billing: string,
  kind: Kind,
  index: string | undefined,
  resource: string,
): Budget | undefined {
  const key = `${meta.id}:${index ?? ''}:${kind === 'read' ? 'r' : 'w'}`;
  if (billing === 'PROVISIONED') {
    const t = d.ProvisionedThroughput as Record<string, number> | undefined;
    const rate = kind === 'read' ? t?.ReadCapacityUnits : t?.WriteCapacityUnits;
    if (!rate || rate <= 0) return undefined;
    return {
      spec: { key, rate, burst: rate * burstSeconds },
      mode: 'provisioned',
      index,
      resource,
    };
  }
  const o = d.OnDemandThroughput as Record<string, number> | undefined;
  const max = kind === 'read' ? o?.MaxReadRequestUnits : o?.MaxWriteRequestUnits;
  if (max == null || max <= 0) return undefined;
  return { spec: { key, rate: max, burst: max }, mode: 'on-demand', index, resource };
}

/** The table's own budget of one kind (LSIs included), or undefined when unbounded. */
export function tableBudget(meta: TableMeta, kind: Kind): Budget | undefined {
  const d = meta.description;
  return budgetOf(meta, d, billingMode(d), kind, undefined, String(d.TableArn ?? meta.name));
}

/** A global secondary index's budget of one kind, or undefined when unbounded. */
export function indexBudget(meta: TableMeta, index: string, kind: Kind): Budget | undefined {
  const d = meta.description;
  const entry = (d.GlobalSecondaryIndexes as Description[] | undefined)?.find(
    (g) => g.IndexName === index,
  );
  if (!entry) return undefined;
  const arn = String(entry.IndexArn ?? indexArn('us-east-1', '000000000000', meta.name, index));
  return budgetOf(meta, entry, billingMode(d), kind, index, arn);
}

/** The GSIs a write of the table maintains (every one but those being dropped). */
export function writtenGlobalIndexes(meta: TableMeta): IndexMeta[] {
  return (meta.indexes ?? []).filter((i) => !i.local && i.status !== 'DELETING');
}

/** Whether any budget of the table is bounded: unbounded tables skip the store entirely. */
export function isBounded(meta: TableMeta): boolean {
  const kinds: Kind[] = ['read', 'write'];
  return kinds.some(
    (k) =>
      tableBudget(meta, k) !== undefined ||
      writtenGlobalIndexes(meta).some((i) => indexBudget(meta, i.name, k) !== undefined),
  );
}
