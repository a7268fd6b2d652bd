// Scan, with parallel segments: segment s of n reads its own slice of the
// partition-hash space (storage/segments.ts), so n workers cover the table once.
import { validation } from '../errors.ts';
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import { attributesToGetToPaths, conditionsToAst } from '../legacy.ts';
import {
  attrMap,
  checkRequest,
  condition,
  conditionalOperator,
  expression,
  returnConsumedCapacity,
  stringMap,
  type Schema,
} from '../validate.ts';
import { checkItem, itemSize, type Item } from '../values.ts';
import { readCapacity, readUnits, requireTable, storageKey, type Action } from './context.ts';
import { indexKey, indexKeyOf, indexTable } from '../storage/indexes.ts';
import {
  checkStartKey,
  readSchema,
  checkSelect,
  pageResponse,
  readPage,
  requireIndex,
  fetchesFromTable,
  presentFetched,
  tableItems,
} from './read-page.ts';

export const schema: Schema = {
  ...readSchema,
  ScanFilter: condition,
  ConditionalOperator: conditionalOperator,
  ExclusiveStartKey: attrMap,
  ReturnConsumedCapacity: returnConsumedCapacity,
  TotalSegments: { type: 'Integer', min: 1, max: 1000000 },
  Segment: { type: 'Integer', min: 0, max: 999999 },
  ProjectionExpression: expression,
  FilterExpression: expression,
  ExpressionAttributeNames: stringMap,
  ExpressionAttributeValues: attrMap,
};

export const scan: Action = async (ctx, req) => {
  checkRequest(req, schema);
  checkExpressionParams(
    req,
    ['ProjectionExpression', 'FilterExpression'],
    ['AttributesToGet', 'ScanFilter', 'ConditionalOperator'],
  );
  const legacyPaths = attributesToGetToPaths(req.AttributesToGet);
  const legacyFilter = conditionsToAst(req.ScanFilter, req.ConditionalOperator);
  const startKey = req.ExclusiveStartKey == null ? undefined : checkItem(req.ExclusiveStartKey);
  const segment = req.Segment as number | undefined;
  const total = req.TotalSegments as number | undefined;
  if (segment != null && total == null) {
    throw validation(
      'The TotalSegments parameter is required but was not present in the request when Segment parameter is present',
    );
  }
  if (total != null) {
    if (segment == null) {
      throw validation(
        'The Segment parameter is required but was not present in the request when parameter TotalSegments is present',
      );
    }
    if (segment >= total) {
      throw validation(
        `The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: ${segment} is not less than TotalSegments: ${total}`,
      );
    }
  }
  const parsed = parseExpressions(req);
  const projection = parsed.projection ?? legacyPaths;
  const countOnly = checkSelect(
    req.Select,
    projection !== undefined,
    legacyPaths !== undefined,
    req.IndexName,
  );
  const meta = await requireTable(ctx, req.TableName as string);
  const index = requireIndex(meta, req);
  const filter = parsed.filter ?? legacyFilter;
  const fromTable = fetchesFromTable(meta, index, req.Select, projection, filter);
  if (startKey) checkStartKey(meta, index, startKey);
  const source = index ? indexTable(meta, index) : meta;
  const rowKey = (item: Item) =>
    index ? indexKey(meta.schema, index, item)! : storageKey(meta.schema, item);
  // With fetches from the table, page.bytes are the table's; the index rows are counted here.
  let indexBytes = 0;
  const pageCache = req.ConsistentRead === true ? undefined : ctx.cache?.cache;
  const cached = pageCache?.page(meta, 'Scan', req);
  if (cached) {
    // A page from the cache never reaches the table: it consumes nothing.
    const cc = readCapacity(ctx, req, meta.name, index, 0, 0);
    return cc ? { ...cached, ConsumedCapacity: cc } : { ...cached };
  }
  const pageToken = pageCache?.token(meta);
  await ctx.capacity?.admit(meta, 'read', readUnits(0, req.ConsistentRead === true), index);
  const page = await readPage({
    schema: meta.schema,
    limit: req.Limit as number | undefined,
    filter,
    projection,
    present: presentFetched(meta, index, fromTable, req.Select),
    countOnly,
    keyOf: index && ((item) => indexKeyOf(meta.schema, index, item)),
    fetch: async (after: Item | undefined, limit: number) => {
      const from = after ?? startKey;
      const rows = await ctx.engine.scan(source, {
        segment: segment ?? 0,
        totalSegments: total ?? 1,
        after: from && rowKey(from),
        limit,
      });
      if (!fromTable) return rows;
      for (const r of rows) indexBytes += itemSize(r);
      return tableItems(ctx, meta, rows);
    },
  });
  const out = pageResponse(page, countOnly);
  if (pageToken !== undefined) pageCache!.fillPage(meta, 'Scan', req, { ...out }, pageToken);
  const consistent = req.ConsistentRead === true;
  const units = readUnits(page.bytes, consistent);
  const cc = fromTable
    ? readCapacity(ctx, req, meta.name, index, readUnits(indexBytes, consistent), units)
    : readCapacity(ctx, req, meta.name, index, units, index ? 0 : units);
  if (cc) out.ConsumedCapacity = cc;
  return out;
};
