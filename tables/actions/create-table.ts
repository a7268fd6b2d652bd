// CreateTable. Tables are usable as soon as the call returns, so the description
// says ACTIVE at once (as ScyllaDB Alternator does) rather than CREATING. Its
// index checks are shared with UpdateTable's GlobalSecondaryIndexUpdates.
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
import { describe } from './describe-table.ts';
import {
  createStreams,
  describeStreams,
  streamSpecificationField,
  type StreamSpecification,
} from '../streams/spec.ts';
import { createSettings, indexSettingsFields, settingsFields } from '../capacity/settings.ts';
import { checkWriteIsolationTag } from '../storage/write-isolation.ts';

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

/** A GSI's KeySchema: up to 4 HASH then up to 4 RANGE elements (multi-attribute keys). */
const globalKeySchemaField = { ...keySchemaField, maxLength: 8 } satisfies Field;

export const throughputField = {
  type: 'Struct',
  fields: {
    ReadCapacityUnits: { type: 'Long', notNull: true, min: 1 },
    WriteCapacityUnits: { type: 'Long', notNull: true, min: 1 },
  },
} satisfies Field;

const projectionField = {
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
} satisfies Field;

/** One GlobalSecondaryIndex (CreateTable) or GlobalSecondaryIndexUpdates Create. */
export const globalIndexFields = {
  IndexName: { ...tableName },
  KeySchema: globalKeySchemaField,
  Projection: projectionField,
  ProvisionedThroughput: throughputField,
  ...indexSettingsFields,
} satisfies Record<string, Field>;

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

/** DynamoDB's limit of 50 tags a table, at CreateTable as at TagResource. */
export function checkTagLimit(tags: Record<string, string>): void {
  if (Object.keys(tags).length > 50) {
    throw validation('One or more parameter values were invalid: Too many tags, the limit is 50');
  }
}

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
  ...settingsFields,
  LocalSecondaryIndexes: {
    type: 'List',
    items: {
      type: 'Struct',
      fields: {
        IndexName: { ...tableName },
        KeySchema: keySchemaField,
        Projection: projectionField,
      },
    },
  },
  GlobalSecondaryIndexes: {
    type: 'List',
    items: { type: 'Struct', fields: globalIndexFields },
  },
  StreamSpecification: streamSpecificationField,
};

export interface GsiRequest {
  IndexName: string;
  KeySchema: { AttributeName: string; KeyType: string }[];
  Projection: { ProjectionType?: IndexMeta['projection']; NonKeyAttributes?: string[] };
  ProvisionedThroughput?: Throughput;
}

const invalid = (msg: string) => validation(`One or more parameter values were invalid: ${msg}`);

type Definitions = { AttributeName: string; AttributeType: ScalarType }[];

/** The checks every index gets, in DynamoDB's order; returns its meta. */
function indexMeta(g: GsiRequest, defs: Definitions, global: boolean): IndexMeta {
  const defNames = defs.map((d) => d.AttributeName);
  const keyNames = g.KeySchema.map((k) => k.AttributeName);
  if (keyNames.some((k) => !defNames.includes(k))) {
    throw invalid(
      `Some index key attributes are not defined in AttributeDefinitions. Keys: [${keyNames.join(', ')}], AttributeDefinitions: [${defNames.join(', ')}]`,
    );
  }
  const typeOfKey = (name: string) => defs.find((d) => d.AttributeName === name)!.AttributeType;
  const [first, second] = g.KeySchema;
  const multi = g.KeySchema.length > 2 || second?.KeyType === 'HASH';
  if (global && first!.KeyType === 'HASH' && multi) {
    return { ...named(g), schema: multiAttributeSchema(g, typeOfKey) };
  }
  if (keyNames[0] === keyNames[1]) {
    throw validation(
      'Both the Hash Key and the Range Key element in the KeySchema have the same name',
    );
  }
  if (first!.KeyType !== 'HASH') {
    throw validation('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  }
  if (second && second.KeyType !== 'RANGE') {
    throw validation('Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
  }
  const schema: KeySchema = { hash: { name: keyNames[0]!, type: typeOfKey(keyNames[0]!) } };
  if (keyNames[1]) schema.range = { name: keyNames[1], type: typeOfKey(keyNames[1]) };
  return { ...named(g), schema };
}

const named = (g: GsiRequest) => ({
  name: g.IndexName,
  id: randomUUID().replace(/-/g, ''),
  projection: g.Projection.ProjectionType!,
});

/**
 * A GSI KeySchema of more than one HASH or RANGE element: up to 4 HASH, then up
 * to 4 RANGE, no attribute twice (the schema field already capped it at 8).
 */
function multiAttributeSchema(g: GsiRequest, typeOfKey: (name: string) => ScalarType): KeySchema {
  const names = g.KeySchema.map((k) => k.AttributeName);
  if (new Set(names).size !== names.length) {
    throw invalid(`Duplicate attribute names in KeySchema for index: ${g.IndexName}`);
  }
  const firstRange = g.KeySchema.findIndex((k) => k.KeyType === 'RANGE');
  if (firstRange >= 0 && g.KeySchema.slice(firstRange).some((k) => k.KeyType === 'HASH')) {
    throw validation(
      'Invalid KeySchema: All HASH key type elements must precede all RANGE key type elements',
    );
  }
  const def = (k: { AttributeName: string }) => ({
    name: k.AttributeName,
    type: typeOfKey(k.AttributeName),
  });
  const hashes = g.KeySchema.filter((k) => k.KeyType === 'HASH').map(def);
  const ranges = g.KeySchema.filter((k) => k.KeyType === 'RANGE').map(def);
  if (hashes.length > 4) {
    throw invalid(
      `Index KeySchema can have at most 4 HASH key attributes for index: ${g.IndexName}`,
    );
  }
  if (ranges.length > 4) {
    throw invalid(
      `Index KeySchema can have at most 4 RANGE key attributes for index: ${g.IndexName}`,
    );
  }
  const schema: KeySchema = { hash: hashes[0]!, hashes, ranges };
  if (ranges[0]) schema.range = ranges[0];
  return schema;
}

function checkProjection(g: GsiRequest, meta: IndexMeta): void {
  const type = g.Projection.ProjectionType;
  if (type == null) throw invalid('Unknown ProjectionType: null');
  if (g.Projection.NonKeyAttributes && type !== 'INCLUDE') {
    throw invalid(`ProjectionType is ${type}, but NonKeyAttributes is specified`);
  }
  if (type === 'INCLUDE' && !g.Projection.NonKeyAttributes) {
    throw invalid('ProjectionType is INCLUDE, but NonKeyAttributes is not specified');
  }
  if (type === 'INCLUDE') meta.nonKeyAttributes = g.Projection.NonKeyAttributes;
}

/** One global secondary index, as CreateTable and UpdateTable check it. */
export function globalIndexMeta(g: GsiRequest, defs: Definitions, billing: string): IndexMeta {
  const meta = indexMeta(g, defs, true);
  checkProjection(g, meta);
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
  return meta;
}

/** DynamoDB's checks of LocalSecondaryIndexes, in its order. */
function localIndexes(
  lsis: GsiRequest[],
  defs: Definitions,
  table: KeySchema,
  seen: Set<string>,
): IndexMeta[] {
  if (lsis.length === 0) throw invalid('List of LocalSecondaryIndexes is empty');
  if (!table.range) {
    throw invalid(
      'Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex',
    );
  }
  const out = lsis.map((l) => {
    const meta = indexMeta(l, defs, false);
    if (!meta.schema.range) {
      throw invalid(`Index KeySchema does not have a range key for index: ${l.IndexName}`);
    }
    if (meta.schema.hash.name !== table.hash.name) {
      throw invalid(
        `Index KeySchema does not have the same leading hash key as table KeySchema for index: ${l.IndexName}. index hash key: ${meta.schema.hash.name}, table hash key: ${table.hash.name}`,
      );
    }
    checkProjection(l, meta);
    if (seen.has(l.IndexName)) throw invalid(`Duplicate index name: ${l.IndexName}`);
    seen.add(l.IndexName);
    return { ...meta, local: true };
  });
  if (lsis.length > 5) {
    throw invalid('Number of LocalSecondaryIndexes exceeds per-table limit of 5');
  }
  return out;
}

/** DynamoDB's checks of GlobalSecondaryIndexes, in its order; returns the index metas. */
function globalIndexes(
  gsis: GsiRequest[],
  defs: Definitions,
  billing: string,
  seen: Set<string>,
): IndexMeta[] {
  if (gsis.length === 0) throw invalid('List of GlobalSecondaryIndexes is empty');
  const out = gsis.map((g) => {
    const meta = globalIndexMeta(g, defs, billing);
    if (seen.has(g.IndexName)) throw invalid(`Duplicate index name: ${g.IndexName}`);
    seen.add(g.IndexName);
    return meta;
  });
  if (gsis.length > 20)
    throw invalid('GlobalSecondaryIndex count exceeds the per-table limit of 20');
  return out;
}

/** The DescribeTable entry of an index (status and sizes are added by describe). */
export function indexDescription(
  ctx: { region: string; accountId: string },
  table: string,
  g: GsiRequest,
  global: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    IndexName: g.IndexName,
    KeySchema: g.KeySchema.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType })),
    Projection: g.Projection,
  };
  if (global) {
    out.ProvisionedThroughput = {
      NumberOfDecreasesToday: 0,
      ReadCapacityUnits: g.ProvisionedThroughput?.ReadCapacityUnits ?? 0,
      WriteCapacityUnits: g.ProvisionedThroughput?.WriteCapacityUnits ?? 0,
    };
  }
  out.IndexArn = indexArn(ctx.region, ctx.accountId, table, g.IndexName);
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
  const typeOfKey = (name: string) => defs.find((d) => d.AttributeName === name)!.AttributeType;
  const keySchema: KeySchema = { hash: { name: keyNames[0]!, type: typeOfKey(keyNames[0]!) } };
  if (keyNames[1]) keySchema.range = { name: keyNames[1], type: typeOfKey(keyNames[1]) };
  const lsis = req.LocalSecondaryIndexes as GsiRequest[] | undefined;
  const gsis = req.GlobalSecondaryIndexes as GsiRequest[] | undefined;
  const seen = new Set<string>();
  const indexes = [
    ...(lsis ? localIndexes(lsis, defs, keySchema, seen) : []),
    ...(gsis ? globalIndexes(gsis, defs, billing, seen) : []),
  ];
  const used = new Set([
    ...keyNames,
    ...[...(lsis ?? []), ...(gsis ?? [])].flatMap((g) => g.KeySchema.map((k) => k.AttributeName)),
  ]);
  if (used.size !== defs.length) {
    throw validation(
      'One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
    );
  }

  const name = req.TableName as string;
  const id = randomUUID();
  const now = Date.now() / 1000;
  const streams = createStreams(
    req.StreamSpecification as StreamSpecification | undefined,
    now * 1000,
  );
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
  if (lsis)
    description.LocalSecondaryIndexes = lsis.map((l) => indexDescription(ctx, name, l, false));
  if (gsis)
    description.GlobalSecondaryIndexes = gsis.map((g) => indexDescription(ctx, name, g, true));
  if (billing === 'PAY_PER_REQUEST') {
    description.BillingModeSummary = {
      BillingMode: 'PAY_PER_REQUEST',
      LastUpdateToPayPerRequestDateTime: now,
    };
  }
  createSettings(req, description, billing);
  const tags = Object.fromEntries(
    ((req.Tags as { Key: string; Value: string }[] | undefined) ?? []).map((t) => [t.Key, t.Value]),
  );
  checkTagLimit(tags);
  checkWriteIsolationTag(tags);
  const meta: TableMeta = {
    name,
    id: id.replace(/-/g, ''),
    schema: keySchema,
    description: describeStreams(description, streams, ctx.region, ctx.accountId, name),
    tags,
  };
  if (indexes.length) meta.indexes = indexes;
  if (streams) meta.streams = streams;
  if (!(await ctx.engine.createTable(meta))) throw inUse(`Table already exists: ${name}`);
  return { TableDescription: await describe(ctx.engine, meta) };
};
