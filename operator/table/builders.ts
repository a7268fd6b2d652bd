// Pure translations between a Table resource and the DynamoDB API beyond CreateTable
// (which lives with the Table model in lib/table.ts): whether an existing table has
// the same key, and the UpdateTable calls that bring an existing table to the spec
// (DynamoDB takes one change per call, and no index change while another index is
// being created or deleted).
import type {
  TableDescription,
  TimeToLiveDescription,
  UpdateTableInput,
  UpdateTimeToLiveInput,
} from '@aws-sdk/client-dynamodb';
import {
  createTableInput,
  globalIndexInput,
  throughputInput,
  type TableSpec,
} from '../../lib/table.ts';

/** Whether an existing table has the key the spec asks for (so it may be adopted). */
export function sameKey(desc: TableDescription, spec: TableSpec): boolean {
  const typeOf = (name: string, defs: { AttributeName?: string; AttributeType?: string }[]) =>
    defs.find((d) => d.AttributeName === name)?.AttributeType;
  const have = desc.KeySchema ?? [];
  return (
    have.length === spec.keySchema.length &&
    spec.keySchema.every(
      (k, i) =>
        have[i]?.AttributeName === k.attributeName &&
        have[i]?.KeyType === k.keyType &&
        typeOf(k.attributeName, desc.AttributeDefinitions ?? []) ===
          spec.attributeDefinitions.find((a) => a.attributeName === k.attributeName)?.attributeType,
    )
  );
}

/** The global secondary index that is not ACTIVE yet (CREATING, DELETING…), if any. */
export function indexInFlight(desc: TableDescription): string | undefined {
  const g = (desc.GlobalSecondaryIndexes ?? []).find((i) => i.IndexStatus !== 'ACTIVE');
  return g && `${g.IndexName} is ${g.IndexStatus}`;
}

/**
 * The next UpdateTable call that moves the table toward the spec, or undefined
 * when it matches or must first wait for an index in flight (indexInFlight).
 */
export function nextUpdate(
  desc: TableDescription,
  spec: TableSpec,
  tableName: string,
): UpdateTableInput | undefined {
  if (indexInFlight(desc)) return undefined;
  const mode = spec.billingMode ?? 'PAY_PER_REQUEST';
  const haveMode =
    desc.BillingModeSummary?.BillingMode ??
    (desc.ProvisionedThroughput?.ReadCapacityUnits ? 'PROVISIONED' : 'PAY_PER_REQUEST');
  const attrs = createTableInput(spec, tableName).AttributeDefinitions;
  if (mode !== haveMode) {
    return {
      TableName: tableName,
      BillingMode: mode,
      ...(mode === 'PROVISIONED'
        ? { ProvisionedThroughput: throughputInput(spec.provisionedThroughput) }
        : {}),
    };
  }
  // A kind under autoScaling is the operator's to move (autoscaling.ts): the spec's
  // units are only where the table starts.
  const haveRead = desc.ProvisionedThroughput?.ReadCapacityUnits;
  const haveWrite = desc.ProvisionedThroughput?.WriteCapacityUnits;
  const wantRead = spec.autoScaling?.read
    ? haveRead
    : spec.provisionedThroughput?.readCapacityUnits;
  const wantWrite = spec.autoScaling?.write
    ? haveWrite
    : spec.provisionedThroughput?.writeCapacityUnits;
  if (mode === 'PROVISIONED' && (haveRead !== wantRead || haveWrite !== wantWrite)) {
    return {
      TableName: tableName,
      ProvisionedThroughput: { ReadCapacityUnits: wantRead, WriteCapacityUnits: wantWrite },
    };
  }
  const wantClass = spec.tableClass ?? 'STANDARD';
  if ((desc.TableClassSummary?.TableClass ?? 'STANDARD') !== wantClass) {
    return { TableName: tableName, TableClass: wantClass };
  }
  const have = new Set((desc.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName));
  const want = spec.globalSecondaryIndexes ?? [];
  const missing = want.find((g) => !have.has(g.indexName));
  if (missing) {
    return {
      TableName: tableName,
      AttributeDefinitions: attrs,
      GlobalSecondaryIndexUpdates: [{ Create: globalIndexInput(spec, missing) }],
    };
  }
  const extra = [...have].find((n) => !want.some((g) => g.indexName === n));
  if (extra)
    return {
      TableName: tableName,
      GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: extra } }],
    };
  const protect = spec.deletionProtectionEnabled ?? true;
  if (desc.DeletionProtectionEnabled !== undefined && desc.DeletionProtectionEnabled !== protect) {
    return { TableName: tableName, DeletionProtectionEnabled: protect };
  }
  // A stream's view type cannot change in place: the old stream is disabled first,
  // and the next pass enables the new one.
  const wantView = spec.streamSpecification?.streamEnabled
    ? spec.streamSpecification.streamViewType
    : undefined;
  const haveView = desc.StreamSpecification?.StreamEnabled
    ? desc.StreamSpecification.StreamViewType
    : undefined;
  if (wantView !== haveView) {
    return {
      TableName: tableName,
      StreamSpecification: haveView
        ? { StreamEnabled: false }
        : { StreamEnabled: true, StreamViewType: wantView },
    };
  }
  return undefined;
}

/**
 * The UpdateTimeToLive call that brings the table's TTL to the spec, or undefined
 * when it matches. Another attribute is disabled first (DynamoDB refuses to switch
 * it in place); the next pass enables the new one.
 */
export function nextTimeToLive(
  desc: TimeToLiveDescription | undefined,
  spec: TableSpec,
  tableName: string,
): UpdateTimeToLiveInput | undefined {
  const ttl = spec.timeToLiveSpecification;
  const want = ttl?.enabled ? ttl.attributeName : undefined;
  const on = desc?.TimeToLiveStatus === 'ENABLED' || desc?.TimeToLiveStatus === 'ENABLING';
  const have = on ? desc?.AttributeName : undefined;
  if (want === have) return undefined;
  return {
    TableName: tableName,
    TimeToLiveSpecification: have
      ? { AttributeName: have, Enabled: false }
      : { AttributeName: want!, Enabled: true },
  };
}
