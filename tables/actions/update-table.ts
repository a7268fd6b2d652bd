// UpdateTable: billing mode, provisioned throughput, deletion protection, and
// GlobalSecondaryIndexUpdates. A throughput change applies to the next request
// (tables/capacity/ reads the budget from the description), with DynamoDB's limit
// on decreases per day (capacity/decreases.ts). An index Create or
// Delete is recorded here (CREATING / DELETING) and finished in the background by
// the index builder (storage/backfill.ts), one at a time per table as on DynamoDB.
import { DynamoError, notFound, validation } from '../errors.ts';
import type { IndexMeta, TableMeta } from '../storage/engine.ts';
import { checkRequest, resourceTableName, tableName, type Schema } from '../validate.ts';
import type { ScalarType } from '../values.ts';
import { requireTable, type Action, type ActionContext } from './context.ts';
import {
  checkThroughput,
  globalIndexFields,
  globalIndexMeta,
  indexDescription,
  throughputField,
  type GsiRequest,
} from './create-table.ts';
import { describe } from './describe-table.ts';
import {
  checkStreamUpdate,
  describeStreams,
  streamSpecificationField,
  updateStreams,
  type StreamSpecification,
} from '../streams/spec.ts';
import { applyThroughput } from '../capacity/decreases.ts';
import {
  indexSettingsFields,
  settingsFields,
  updateSettings,
  updatesSettings,
} from '../capacity/settings.ts';

export const schema: Schema = {
  TableName: resourceTableName,
  ProvisionedThroughput: throughputField,
  BillingMode: { type: 'String', enum: ['PROVISIONED', 'PAY_PER_REQUEST'] },
  AttributeDefinitions: {
    type: 'List',
    items: {
      type: 'Struct',
      fields: {
        AttributeName: { type: 'String', notNull: true, minLength: 1, maxLength: 255 },
        AttributeType: { type: 'String', notNull: true, enum: ['B', 'N', 'S'] },
      },
    },
  },
  GlobalSecondaryIndexUpdates: {
    type: 'List',
    items: {
      type: 'Struct',
      fields: {
        Create: { type: 'Struct', fields: globalIndexFields },
        Update: {
          type: 'Struct',
          fields: {
            IndexName: { ...tableName },
            ProvisionedThroughput: throughputField,
            ...indexSettingsFields,
          },
        },
        Delete: { type: 'Struct', fields: { IndexName: { ...tableName } } },
      },
    },
  },
  StreamSpecification: streamSpecificationField,
  SSESpecification: { type: 'Struct', fields: {} },
  DeletionProtectionEnabled: { type: 'Boolean' },
  ...settingsFields,
};

interface Throughput {
  ReadCapacityUnits: number;
  WriteCapacityUnits: number;
}

interface IndexUpdate {
  Create?: GsiRequest;
  Update?: { IndexName: string; ProvisionedThroughput?: Throughput };
  Delete?: { IndexName: string };
}
type Definitions = { AttributeName: string; AttributeType: ScalarType }[];

const invalid = (msg: string) => validation(`One or more parameter values were invalid: ${msg}`);
const oneAtATime = () =>
  new DynamoError(
    'LimitExceededException',
    'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table',
  );

/** The checks DynamoDB makes of GlobalSecondaryIndexUpdates before it looks at the table. */
function checkIndexUpdates(updates: IndexUpdate[]): void {
  const names = new Set<string>();
  for (const u of updates) {
    const ops = [u.Update, u.Create, u.Delete].filter((o) => o != null);
    if (ops.length === 0) {
      throw invalid(
        'One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null',
      );
    }
    if (ops.length > 1) {
      throw invalid(
        'Only one of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete can be specified at a time',
      );
    }
    const name = ops[0]!.IndexName;
    if (names.has(name)) {
      throw invalid(
        `Only one global secondary index update per index is allowed simultaneously. Index: ${name}`,
      );
    }
    names.add(name);
  }
}

/**
 * Applies the index updates to a copy of the table metadata: a Create joins as
 * CREATING with its new attribute definitions, a Delete turns DELETING, an
 * Update changes the index's recorded throughput.
 */
async function applyIndexUpdates(
  ctx: ActionContext,
  meta: TableMeta,
  updates: IndexUpdate[],
  defsGiven: Definitions | undefined,
  billing: string,
  nowMs: number,
): Promise<TableMeta> {
  const changes = updates.filter((u) => u.Create || u.Delete);
  if (changes.length > 1 || (changes.length && meta.indexes?.some((i) => i.status))) {
    throw oneAtATime();
  }
  const d = { ...meta.description };
  let indexes = [...(meta.indexes ?? [])];
  const globals = () => indexes.filter((i) => !i.local && i.status !== 'DELETING');
  for (const u of updates) {
    if (u.Create) {
      const g = u.Create;
      if (indexes.some((i) => i.name === g.IndexName)) {
        throw invalid(`Index with name: ${g.IndexName} already exists`);
      }
      const tableDefs = d.AttributeDefinitions as Definitions;
      const given = defsGiven ?? [];
      for (const def of given) {
        const old = tableDefs.find((t) => t.AttributeName === def.AttributeName);
        if (old && old.AttributeType !== def.AttributeType) {
          throw invalid(
            `Attributes cannot be redefined. Please check that your attribute has the same type as previously defined. Existing schema: Schema:[SchemaElement: key{${old.AttributeName}:${old.AttributeType}}] New schema: Schema:[SchemaElement: key{${def.AttributeName}:${def.AttributeType}}]`,
          );
        }
      }
      const index: IndexMeta = { ...globalIndexMeta(g, given, billing), status: 'CREATING' };
      if (globals().length + 1 > 20) {
        throw invalid('GlobalSecondaryIndex count exceeds the per-table limit of 20');
      }
      await ctx.engine.createIndex(meta, index);
      indexes.push(index);
      d.AttributeDefinitions = [
        ...tableDefs,
        ...given
          .filter((g) => !tableDefs.some((t) => t.AttributeName === g.AttributeName))
          .map((g) => ({ AttributeName: g.AttributeName, AttributeType: g.AttributeType })),
      ];
      d.GlobalSecondaryIndexes = [
        ...((d.GlobalSecondaryIndexes as unknown[] | undefined) ?? []),
        indexDescription(ctx, meta.name, g, true),
      ];
    } else {
      const name = (u.Delete ?? u.Update)!.IndexName;
      const index = globals().find((i) => i.name === name);
      if (!index) {
        if (indexes.some((i) => i.name === name && i.local)) {
          throw invalid(
            `Index ${name} is a local secondary index: only global secondary indexes can be changed`,
          );
        }
        throw notFound(`Requested resource not found: Index: ${name} not found`);
      }
      if (u.Delete) {
        indexes = indexes.map((i) => (i === index ? { ...i, status: 'DELETING' } : i));
      } else if (u.Update!.ProvisionedThroughput) {
        const throughput = u.Update!.ProvisionedThroughput;
        checkThroughput(throughput);
        d.GlobalSecondaryIndexes = (d.GlobalSecondaryIndexes as Record<string, unknown>[]).map(
          (e) =>
            e.IndexName !== name
              ? e
              : {
                  ...e,
                  ProvisionedThroughput: applyThroughput(
                    e.ProvisionedThroughput as Record<string, number>,
                    throughput,
                    nowMs,
                  ),
                },
        );
      }
    }
  }
  return { ...meta, description: d, indexes };
}

export const updateTable: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const throughput = req.ProvisionedThroughput as Throughput | undefined;
  const billing = req.BillingMode as string | undefined;
  if (
    !throughput &&
    !billing &&
    req.DeletionProtectionEnabled == null &&
    !(req.GlobalSecondaryIndexUpdates as unknown[] | undefined)?.length &&
    !req.SSESpecification &&
    !updatesSettings(req) &&
    !req.StreamSpecification
  ) {
    throw validation(
      'At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required',
    );
  }
  if (billing === 'PROVISIONED' && !throughput) {
    throw validation(
      'One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED',
    );
  }
  if (throughput) checkThroughput(throughput);
  const indexUpdates = (req.GlobalSecondaryIndexUpdates as IndexUpdate[] | undefined) ?? [];
  checkIndexUpdates(indexUpdates);
  const streamSpec = req.StreamSpecification as StreamSpecification | undefined;
  if (streamSpec) {
    checkStreamUpdate(streamSpec);
    if (indexUpdates.some((u) => u.Create || u.Delete)) {
      throw invalid('You cannot create or delete index while changing stream status');
    }
  }
  const name = req.TableName as string;
  const meta = await requireTable(
    ctx,
    name,
    `Requested resource not found: Table: ${name} not found`,
  );
  const d = { ...meta.description };
  const current = (d.BillingModeSummary as { BillingMode?: string } | undefined)?.BillingMode;
  const mode = billing ?? current ?? 'PROVISIONED';
  if (mode === 'PAY_PER_REQUEST' && throughput) {
    throw validation(
      'One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
    );
  }
  const nowMs = (ctx.now ?? Date.now)();
  const now = nowMs / 1000;
  const old = d.ProvisionedThroughput as Record<string, number>;
  if (mode === 'PAY_PER_REQUEST') {
    d.BillingModeSummary = {
      BillingMode: 'PAY_PER_REQUEST',
      LastUpdateToPayPerRequestDateTime: now,
    };
    d.ProvisionedThroughput = { ...old, ReadCapacityUnits: 0, WriteCapacityUnits: 0 };
  } else if (throughput) {
    d.ProvisionedThroughput = applyThroughput(old, throughput, nowMs);
    if (current === 'PAY_PER_REQUEST') d.BillingModeSummary = { BillingMode: 'PROVISIONED' };
  }
  if (req.DeletionProtectionEnabled != null)
    d.DeletionProtectionEnabled = req.DeletionProtectionEnabled;
  updateSettings(req, d, mode, nowMs);
  let updated: TableMeta = { ...meta, description: d };
  if (streamSpec) {
    updated.streams = updateStreams(meta, streamSpec, Date.now());
    updated.description = describeStreams(d, updated.streams, ctx.region, ctx.accountId, name);
  }
  if (indexUpdates.length) {
    updated = await applyIndexUpdates(
      ctx,
      updated,
      indexUpdates,
      req.AttributeDefinitions as Definitions | undefined,
      mode,
      nowMs,
    );
  }
  await ctx.engine.updateTable(updated);
  if (updated.indexes?.some((i) => i.status)) void ctx.indexes?.start(name);
  return { TableDescription: await describe(ctx.engine, updated) };
};
