// UpdateTimeToLive: picks (or drops) the attribute whose Number of epoch seconds
// expires an item; the expirer (expirer.ts) deletes expired items in the
// background. The change is settled when the call returns, as DynamoDB reports it
// (DescribeTimeToLive shows ENABLED or DISABLED at once, never ENABLING or
// DISABLING; see docs/tables.md). DynamoDB takes one change per table an hour; its
// refusals of a request that would change nothing come before that one.
import { validation } from '../errors.ts';
import { checkRequest, resourceTableName, type Schema } from '../validate.ts';
import { requireTable, type Action } from '../actions/context.ts';

const changeIntervalMs = 60 * 60 * 1000;

export const schema: Schema = {
  TableName: resourceTableName,
  TimeToLiveSpecification: {
    type: 'Struct',
    notNull: true,
    fields: {
      Enabled: { type: 'Boolean', notNull: true },
      AttributeName: { type: 'String', notNull: true, minLength: 1, maxLength: 255 },
    },
  },
};

export const updateTimeToLive: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const name = req.TableName as string;
  const spec = req.TimeToLiveSpecification as { Enabled: boolean; AttributeName: string };
  const meta = await requireTable(
    ctx,
    name,
    `Requested resource not found: Table: ${name} not found`,
  );
  const current = meta.ttl?.attribute;
  if (current !== undefined && current !== spec.AttributeName) {
    throw validation(
      `TimeToLive is active on a different AttributeName: current AttributeName is ${current}`,
    );
  }
  if (spec.Enabled && current !== undefined) throw validation('TimeToLive is already enabled');
  if (!spec.Enabled && current === undefined) throw validation('TimeToLive is already disabled');
  const now = (ctx.now ?? Date.now)();
  if (meta.ttlChangedAt !== undefined && now < meta.ttlChangedAt + changeIntervalMs) {
    throw validation('Time to live has been modified multiple times within a fixed interval');
  }
  const updated = { ...meta, ttlChangedAt: now };
  if (spec.Enabled) updated.ttl = { attribute: spec.AttributeName };
  else delete updated.ttl;
  await ctx.engine.updateTable(updated);
  return {
    TimeToLiveSpecification: { Enabled: spec.Enabled, AttributeName: spec.AttributeName },
  };
};
