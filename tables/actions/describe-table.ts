// DescribeTable. ItemCount and TableSizeBytes are exact where the engine can count
// cheaply (sqlite) and 0 otherwise; DynamoDB itself refreshes them only every ~6 h.
import type { StorageEngine, TableMeta } from '../storage/engine.ts';
import { checkRequest, resourceTableName, type Schema } from '../validate.ts';
import { requireTable, type Action } from './context.ts';

export const schema: Schema = { TableName: resourceTableName };

export async function describe(
  engine: StorageEngine,
  meta: TableMeta,
): Promise<Record<string, unknown>> {
  const stats = await engine.tableStats(meta);
  return { ...meta.description, ItemCount: stats?.count ?? 0, TableSizeBytes: stats?.bytes ?? 0 };
}

export const describeTable: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const name = req.TableName as string;
  const meta = await requireTable(
    ctx,
    name,
    `Requested resource not found: Table: ${name} not found`,
  );
  return { Table: await describe(ctx.engine, meta) };
};
