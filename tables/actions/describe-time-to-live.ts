// DescribeTimeToLive: ENABLED with its attribute, or DISABLED (UpdateTimeToLive,
// tables/ttl/).
import { checkRequest, resourceTableName, type Schema } from '../validate.ts';
import { requireTable, type Action } from './context.ts';

export const schema: Schema = { TableName: resourceTableName };

export const describeTimeToLive: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const name = req.TableName as string;
  const meta = await requireTable(
    ctx,
    name,
    `Requested resource not found: Table: ${name} not found`,
  );
  return {
    TimeToLiveDescription: meta.ttl
      ? { TimeToLiveStatus: 'ENABLED', AttributeName: meta.ttl.attribute }
      : { TimeToLiveStatus: 'DISABLED' },
  };
};
