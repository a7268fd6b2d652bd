// Pure translations between a Table resource and the DynamoDB API: the CreateTable
// request, whether an existing table has the same key, and the UpdateTable calls
// that bring an existing table to the spec (DynamoDB takes one change per call).
import type {
  CreateTableInput,
  GlobalSecondaryIndex,
  TableDescription,
  UpdateTableInput,
} from '@aws-sdk/client-dynamodb';

interface Key {
  attributeName: string;
  keyType: 'HASH' | 'RANGE';
}
interface Throughput {
  readCapacityUnits: number;
  writeCapacityUnits: number;
}
interface Projection {
  projectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  nonKeyAttributes?: string[];
}

export interface TableSpec {
  tableName?: string;
  attributeDefinitions: { attributeName: string; attributeType: 'S' | 'N' | 'B' }[];
  keySchema: Key[];
  billingMode?: 'PAY_PER_REQUEST' | 'PROVISIONED';
  provisionedThroughput?: Throughput;
  globalSecondaryIndexes?: {
    indexName: string;
    keySchema: Key[];
    projection?: Projection;
    provisionedThroughput?: Throughput;
  }[];
  localSecondaryIndexes?: { indexName: string; keySchema: Key[]; projection?: Projection }[];
  deletionProtectionEnabled?: boolean;
}

const keys = (k: Key[]) => k.map((x) => ({ AttributeName: x.attributeName, KeyType: x.keyType }));
const throughput = (t: Throughput | undefined) =>
  t && { ReadCapacityUnits: t.readCapacityUnits, WriteCapacityUnits: t.writeCapacityUnits };
const projection = (p: Projection | undefined) => ({
  ProjectionType: p?.projectionType ?? 'ALL',
  ...(p?.nonKeyAttributes?.length ? { NonKeyAttributes: p.nonKeyAttributes } : {}),
});

export function tableNameOf(obj: {
  metadata?: { name?: string };
  spec?: { tableName?: string };
}): string {
  return obj.spec?.tableName ?? obj.metadata!.name!;
}

function gsi(
  spec: TableSpec,
  g: NonNullable<TableSpec['globalSecondaryIndexes']>[number],
): GlobalSecondaryIndex {
  const out: GlobalSecondaryIndex = {
    IndexName: g.indexName,
    KeySchema: keys(g.keySchema),
    Projection: projection(g.projection),
  };
  if (spec.billingMode === 'PROVISIONED')
    out.ProvisionedThroughput = throughput(g.provisionedThroughput ?? spec.provisionedThroughput);
  return out;
}

export function createTableInput(spec: TableSpec, tableName: string): CreateTableInput {
  const input: CreateTableInput = {
    TableName: tableName,
    AttributeDefinitions: spec.attributeDefinitions.map((a) => ({
      AttributeName: a.attributeName,
      AttributeType: a.attributeType,
    })),
    KeySchema: keys(spec.keySchema),
    BillingMode: spec.billingMode ?? 'PAY_PER_REQUEST',
    DeletionProtectionEnabled: spec.deletionProtectionEnabled ?? true,
  };
  if (spec.billingMode === 'PROVISIONED')
    input.ProvisionedThroughput = throughput(spec.provisionedThroughput);
  if (spec.globalSecondaryIndexes?.length)
    input.GlobalSecondaryIndexes = spec.globalSecondaryIndexes.map((g) => gsi(spec, g));
  if (spec.localSecondaryIndexes?.length) {
    input.LocalSecondaryIndexes = spec.localSecondaryIndexes.map((l) => ({
      IndexName: l.indexName,
      KeySchema: keys(l.keySchema),
      Projection: projection(l.projection),
    }));
  }
  return input;
}

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

/** The next UpdateTable call that moves the table toward the spec, or undefined when it matches. */
export function nextUpdate(
  desc: TableDescription,
  spec: TableSpec,
  tableName: string,
): UpdateTableInput | undefined {
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
        ? { ProvisionedThroughput: throughput(spec.provisionedThroughput) }
        : {}),
    };
  }
  if (
    mode === 'PROVISIONED' &&
    (desc.ProvisionedThroughput?.ReadCapacityUnits !==
      spec.provisionedThroughput?.readCapacityUnits ||
      desc.ProvisionedThroughput?.WriteCapacityUnits !==
        spec.provisionedThroughput?.writeCapacityUnits)
  ) {
    return { TableName: tableName, ProvisionedThroughput: throughput(spec.provisionedThroughput) };
  }
  const have = new Set((desc.GlobalSecondaryIndexes ?? []).map((g) => g.IndexName));
  const want = spec.globalSecondaryIndexes ?? [];
  const missing = want.find((g) => !have.has(g.indexName));
  if (missing) {
    return {
      TableName: tableName,
      AttributeDefinitions: attrs,
      GlobalSecondaryIndexUpdates: [{ Create: gsi(spec, missing) }],
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
  return undefined;
}
