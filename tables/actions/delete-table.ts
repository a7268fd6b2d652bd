// DeleteTable: the storage goes at once; the answer describes the table as DELETING,
// as DynamoDB does.
import { validation } from '../errors.ts';
import { checkRequest, resourceTableName, type Schema } from '../validate.ts';
import { requireTable, type Action } from './context.ts';
import { describe } from './describe-table.ts';

export const schema: Schema = { TableName: resourceTableName };

export const deleteTable: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const name = req.TableName as string;
  const meta = await requireTable(
    ctx,
    name,
    `Requested resource not found: Table: ${name} not found`,
  );
  if (meta.description.DeletionProtectionEnabled === true) {
    throw validation(
      'Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.',
    );
  }
  const description = await describe(ctx.engine, meta);
  await ctx.engine.deleteTable(meta);
  return { TableDescription: { ...description, TableStatus: 'DELETING' } };
};
