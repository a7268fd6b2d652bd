// UpdateTable: billing mode and provisioned throughput. Throughput is recorded and
// reported, not enforced (the service does not throttle), as in ScyllaDB Alternator.
import { validation } from '../errors.ts';
import { checkRequest, resourceTableName, type Schema } from '../validate.ts';
import { requireTable, type Action } from './context.ts';
import { checkThroughput, throughputField } from './create-table.ts';
import { describe } from './describe-table.ts';

export const schema: Schema = {
  TableName: resourceTableName,
  ProvisionedThroughput: throughputField,
  BillingMode: { type: 'String', enum: ['PROVISIONED', 'PAY_PER_REQUEST'] },
  AttributeDefinitions: { type: 'List', items: { type: 'Struct', fields: {} } },
  GlobalSecondaryIndexUpdates: { type: 'List', items: { type: 'Struct', fields: {} } },
  StreamSpecification: { type: 'Struct', fields: {} },
  SSESpecification: { type: 'Struct', fields: {} },
  DeletionProtectionEnabled: { type: 'Boolean' },
};

interface Throughput {
  ReadCapacityUnits: number;
  WriteCapacityUnits: number;
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
  if ((req.GlobalSecondaryIndexUpdates as unknown[] | undefined)?.length) {
    throw validation(
      'One or more parameter values were invalid: creating or deleting global secondary indexes (GlobalSecondaryIndexUpdates) is not supported by this table service',
    );
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
  const now = Date.now() / 1000;
  const old = d.ProvisionedThroughput as Record<string, number>;
  if (mode === 'PAY_PER_REQUEST') {
    d.BillingModeSummary = {
      BillingMode: 'PAY_PER_REQUEST',
      LastUpdateToPayPerRequestDateTime: now,
    };
    d.ProvisionedThroughput = { ...old, ReadCapacityUnits: 0, WriteCapacityUnits: 0 };
  } else if (throughput) {
    const decrease =
      throughput.ReadCapacityUnits < (old.ReadCapacityUnits ?? 0) ||
      throughput.WriteCapacityUnits < (old.WriteCapacityUnits ?? 0);
    d.ProvisionedThroughput = {
      NumberOfDecreasesToday: (old.NumberOfDecreasesToday ?? 0) + (decrease ? 1 : 0),
      ReadCapacityUnits: throughput.ReadCapacityUnits,
      WriteCapacityUnits: throughput.WriteCapacityUnits,
      ...(decrease ? { LastDecreaseDateTime: now } : { LastIncreaseDateTime: now }),
    };
    if (current === 'PAY_PER_REQUEST') d.BillingModeSummary = { BillingMode: 'PROVISIONED' };
  }
  if (req.DeletionProtectionEnabled != null)
    d.DeletionProtectionEnabled = req.DeletionProtectionEnabled;
  const updated = { ...meta, description: d };
  await ctx.engine.updateTable(updated);
  return { TableDescription: await describe(ctx.engine, updated) };
};
