// CreateTable. Tables are usable as soon as the call returns, so the description
// says ACTIVE at once (as ScyllaDB Alternator does) rather than CREATING.
import { randomUUID } from 'node:crypto';
import { indexArn, tableArn } from '../../lib/names.ts';
import { inUse, validation } from '../errors.ts';
import type { IndexMeta, TableMeta } from '../storage/engine.ts';
import {
  checkRequest,
  resourceTableName,
  tableName,
  type Field,
  type Schema,
} from '../validate.ts';
import type { KeySchema, ScalarType } from '../values.ts';
import type { Action } from './context.ts';

const keySchemaField = {
  type: 'List',
  notNull: true,
  minLength: 1,
  maxLength: 2,
  items: {
    type: 'Struct',
    fields: {
      AttributeName: { type: 'String', notNull: true, minLength: 1, maxLength: 255 },
      KeyType: { type: 'String', notNull: true, enum: ['HASH', 'RANGE'] },
    },
  },
} satisfies Field;

export const throughputField = {
  type: 'Struct',
  fields: {
    ReadCapacityUnits: { type: 'Long', notNull: true, min: 1 },
    WriteCapacityUnits: { type: 'Long', notNull: true, min: 1 },
  },
} satisfies Field;

export const tagsField = {
  type: 'List',
  items: {
    type: 'Struct',
    fields: {
      Key: { type: 'String', notNull: true, minLength: 1, maxLength: 128 },
      Value: { type: 'String', notNull: true, minLength: 0, maxLength: 256 },
    },
  },
} satisfies Field;

export const schema: Schema = {
  AttributeDefinitions: {
    type: 'List',
    notNull: true,
    items: {
      type: 'Struct',
      fields: {
        AttributeName: { type: 'String', notNull: true, minLength: 1, maxLength: 255 },
        AttributeType: { type: 'String', notNull: true, enum: ['B', 'N', 'S'] },
      },
    },
  },
  TableName: resourceTableName,
  KeySchema: keySchemaField,
  ProvisionedThroughput: throughputField,
  BillingMode: { type: 'String', enum: ['PROVISIONED', 'PAY_PER_REQUEST'] },
  Tags: tagsField,
  LocalSecondaryIndexes: { type: 'List', items: { type: 'Struct', fields: {} } },
  GlobalSecondaryIndexes: {
    type: 'List',
    items: {
      type: 'Struct',
      fields: {
        IndexName: { ...tableName },
        KeySchema: keySchemaField,
        Projection: {
          type: 'Struct',
          notNull: true,
          fields: {
            ProjectionType: { type: 'String', enum: ['ALL', 'KEYS_ONLY', 'INCLUDE'] },
            NonKeyAttributes: {
              type: 'List',
              minLength: 1,
              maxLength: 20,
              items: { type: 'String', minLength: 1, maxLength: 255 },
            },
          },
        },
        ProvisionedThroughput: throughputField,
      },
    },
  },
};

interface GsiRequest {
  IndexName: string;
  KeySchema: { AttributeName: string; KeyType: string }[];
  Projection: { ProjectionType?: IndexMeta['projection']; NonKeyAttributes?: string[] };
  ProvisionedThroughput?: Throughput;
}

const invalid = (msg: string) => validation(`One or more parameter values were invalid: ${msg}`);

/** DynamoDB's checks of GlobalSecondaryIndexes, in its order; returns the index metas. */
function globalIndexes(
  gsis: GsiRequest[],
  defs: { AttributeName: string; AttributeType: ScalarType }[],
  billing: string,
): IndexMeta[] {
  if (gsis.length === 0) throw invalid('List of GlobalSecondaryIndexes is empty');
  const defNames = defs.map((d) => d.AttributeName);
  const seen = new Set<string>();
  const out: IndexMeta[] = [];
  for (const g of gsis) {
    const keyNames = g.KeySchema.map((k) => k.AttributeName);
    if (keyNames.some((k) => !defNames.includes(k))) {
      throw invalid(
        `Some index key attributes are not defined in AttributeDefinitions. Keys: [${keyNames.join(', ')}], AttributeDefinitions: [${defNames.join(', ')}]`,
      );
    }
    if (keyNames[0] === keyNames[1]) {
      throw validation(
        'Both the Hash Key and the Range Key element in the KeySchema have the same name',
      );
    }
    if (g.KeySchema[0]!.KeyType !== 'HASH') {
      throw validation('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
    }
    if (g.KeySchema[1] && g.KeySchema[1].KeyType !== 'RANGE') {
      throw validation('Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
    }
    const type = g.Projection.ProjectionType;
    if (type == null) throw invalid('Unknown ProjectionType: null');
    if (g.Projection.NonKeyAttributes && type !== 'INCLUDE') {
      throw invalid(`ProjectionType is ${type}, but NonKeyAttributes is specified`);
    }
    if (type === 'INCLUDE' && !g.Projection.NonKeyAttributes) {
      throw invalid('ProjectionType is INCLUDE, but NonKeyAttributes is not specified');
    }
    if (billing === 'PAY_PER_REQUEST' && g.ProvisionedThroughput) {
      throw invalid(
        `ProvisionedThroughput should not be specified for index: ${g.IndexName} when BillingMode is PAY_PER_REQUEST`,
      );
    }
    if (billing === 'PROVISIONED') {
      if (!g.ProvisionedThroughput) {
        throw invalid(`ProvisionedThroughput must be specified for index: ${g.IndexName}`);
      }
      checkThroughput(g.ProvisionedThroughput);
    }
    if (seen.has(g.IndexName)) throw invalid(`Duplicate index name: ${g.IndexName}`);
    seen.add(g.IndexName);
    const typeOfKey = (name: string) => defs.find((d) => d.AttributeName === name)!.AttributeType;
    const schema: KeySchema = { hash: { name: keyNames[0]!, type: typeOfKey(keyNames[0]!) } };
    if (keyNames[1]) schema.range = { name: keyNames[1], type: typeOfKey(keyNames[1]) };
    out.push({
      name: g.IndexName,
      id: randomUUID().replace(/-/g, ''),
      schema,
      projection: type,
      ...(type === 'INCLUDE' ? { nonKeyAttributes: g.Projection.NonKeyAttributes } : {}),
    });
  }
  if (gsis.length > 20)
    throw invalid('GlobalSecondaryIndex count exceeds the per-table limit of 20');
  return out;
}

interface Throughput {
  ReadCapacityUnits: number;
  WriteCapacityUnits: number;
}

export function checkThroughput(t: Throughput): void {
  for (const k of ['ReadCapacityUnits', 'WriteCapacityUnits'] as const) {
    if (t[k] > 1e12) throw validation(`Given value ${t[k]} for ${k} is out of bounds`);
  }
}

export const createTable: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const billing = (req.BillingMode as string | undefined) ?? 'PROVISIONED';
  const throughput = req.ProvisionedThroughput as Throughput | undefined;
  if (billing === 'PAY_PER_REQUEST') {
    if (throughput) {
      throw validation(
        'One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
      );
    }
  } else {
    if (!throughput) {
      throw validation(
        'One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED',
      );
    }
    checkThroughput(throughput);
  }
  const defs = req.AttributeDefinitions as { AttributeName: string; AttributeType: ScalarType }[];
  const keys = req.KeySchema as { AttributeName: string; KeyType: string }[];
  const defNames = defs.map((d) => d.AttributeName);
  const keyNames = keys.map((k) => k.AttributeName);
  if (keyNames.length > defNames.length) {
    throw validation('Invalid KeySchema: Some index key attribute have no definition');
  }
  if (keyNames.some((k) => !defNames.includes(k))) {
    throw validation(
      `One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [${keyNames.join(', ')}], AttributeDefinitions: [${defNames.join(', ')}]`,
    );
  }
  if (keyNames[0] === keyNames[1]) {
    throw validation(
      'Both the Hash Key and the Range Key element in the KeySchema have the same name',
    );
  }
  if (keys[0]!.KeyType !== 'HASH') {
    throw validation('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  }
  if (keys[1] && keys[1].KeyType !== 'RANGE') {
    throw validation('Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
  }
  if (req.LocalSecondaryIndexes != null) {
    throw invalid('local secondary indexes are not supported by this table service');
  }
  const gsis = req.GlobalSecondaryIndexes as GsiRequest[] | undefined;
  const indexes = gsis ? globalIndexes(gsis, defs, billing) : [];
  const used = new Set([
    ...keyNames,
    ...(gsis ?? []).flatMap((g) => g.KeySchema.map((k) => k.AttributeName)),
  ]);
  if (used.size !== defs.length) {
    throw validation(
      'One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
    );
  }
  const typeOfKey = (name: string) => defs.find((d) => d.AttributeName === name)!.AttributeType;
  const keySchema: KeySchema = { hash: { name: keyNames[0]!, type: typeOfKey(keyNames[0]!) } };
  if (keyNames[1]) keySchema.range = { name: keyNames[1], type: typeOfKey(keyNames[1]) };

  const name = req.TableName as string;
  const id = randomUUID();
  const now = Date.now() / 1000;
  const description: Record<string, unknown> = {
    AttributeDefinitions: defs.map((d) => ({
      AttributeName: d.AttributeName,
      AttributeType: d.AttributeType,
    })),
    TableName: name,
    KeySchema: keys.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType })),
    TableStatus: 'ACTIVE',
    CreationDateTime: now,
    ProvisionedThroughput: {
      NumberOfDecreasesToday: 0,
      ReadCapacityUnits: throughput?.ReadCapacityUnits ?? 0,
      WriteCapacityUnits: throughput?.WriteCapacityUnits ?? 0,
    },
    TableArn: tableArn(ctx.region, ctx.accountId, name),
    TableId: id,
    DeletionProtectionEnabled: false,
  };
  if (gsis) {
    description.GlobalSecondaryIndexes = gsis.map((g) => ({
      IndexName: g.IndexName,
      KeySchema: g.KeySchema.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType })),
      Projection: g.Projection,
      IndexStatus: 'ACTIVE',
      ProvisionedThroughput: {
        NumberOfDecreasesToday: 0,
        ReadCapacityUnits: g.ProvisionedThroughput?.ReadCapacityUnits ?? 0,
        WriteCapacityUnits: g.ProvisionedThroughput?.WriteCapacityUnits ?? 0,
      },
      IndexSizeBytes: 0,
      ItemCount: 0,
      IndexArn: indexArn(ctx.region, ctx.accountId, name, g.IndexName),
    }));
  }
  if (billing === 'PAY_PER_REQUEST') {
    description.BillingModeSummary = {
      BillingMode: 'PAY_PER_REQUEST',
      LastUpdateToPayPerRequestDateTime: now,
    };
  }
  const tags = Object.fromEntries(
    ((req.Tags as { Key: string; Value: string }[] | undefined) ?? []).map((t) => [t.Key, t.Value]),
  );
  const meta: TableMeta = { name, id: id.replace(/-/g, ''), schema: keySchema, description, tags };
  if (indexes.length) meta.indexes = indexes;
  if (!(await ctx.engine.createTable(meta))) throw inUse(`Table already exists: ${name}`);
  return { TableDescription: { ...description, ItemCount: 0, TableSizeBytes: 0 } };
};
