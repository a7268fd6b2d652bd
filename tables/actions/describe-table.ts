// DescribeTable. ItemCount and TableSizeBytes are exact where the engine can count
// cheaply (sqlite) and 0 otherwise; DynamoDB itself refreshes them only every ~6 h.
// So are each index's ItemCount and IndexSizeBytes; a GSI's IndexStatus is its
// lifecycle state (UpdateTable), Backfilling while existing items are indexed.
import { indexTable } from '../storage/indexes.ts';
import type { StorageEngine, TableMeta } from '../storage/engine.ts';
import { checkRequest, resourceTableName, type Schema } from '../validate.ts';
import { requireTable, type Action } from './context.ts';
import { describeWarm } from '../capacity/settings.ts';

export const schema: Schema = { TableName: resourceTableName };

export async function describe(
  engine: StorageEngine,
  meta: TableMeta,
): Promise<Record<string, unknown>> {
  const stats = await engine.tableStats(meta);
  const out: Record<string, unknown> = {
    ...meta.description,
    ItemCount: stats?.count ?? 0,
    TableSizeBytes: stats?.bytes ?? 0,
  };
  for (const field of ['LocalSecondaryIndexes', 'GlobalSecondaryIndexes'] as const) {
    const list = meta.description[field] as Record<string, unknown>[] | undefined;
    if (!list) continue;
    out[field] = await Promise.all(
      list.map(async (d) => {
        const index = meta.indexes?.find((i) => i.name === d.IndexName);
        const s = index && (await engine.tableStats(indexTable(meta, index)));
        const entry: Record<string, unknown> = { ...d };
        if (field === 'GlobalSecondaryIndexes') {
          entry.IndexStatus = index?.status ?? 'ACTIVE';
          if (index?.status === 'CREATING') entry.Backfilling = true;
        }
        return { ...entry, IndexSizeBytes: s?.bytes ?? 0, ItemCount: s?.count ?? 0 };
      }),
    );
  }
  describeWarm(meta.description, out);
  return out;
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
