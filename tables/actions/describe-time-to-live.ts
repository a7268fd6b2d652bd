// DescribeTimeToLive. This service never expires items, and says so: TTL is
// DISABLED on every table (and UpdateTimeToLive is not offered).
import { checkRequest, resourceTableName, type Schema } from '../validate.ts';
import { requireTable, type Action } from './context.ts';

export const schema: Schema = { TableName: resourceTableName };

export const describeTimeToLive: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const name = req.TableName as string;
  await requireTable(ctx, name, `Requested resource not found: Table: ${name} not found`);
  return { TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' } };
};
