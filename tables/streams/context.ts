// What the DynamoDB Streams actions share: their context (the table service's,
// with a clock tests can move) and finding a stream by its ARN.
import { DynamoError, notFound, validation } from '../errors.ts';
import type { ActionContext } from '../actions/context.ts';
import type { StreamMeta, TableMeta } from '../storage/engine.ts';
import type { StreamsMetrics } from './metrics.ts';
import { parseStreamArn, retentionMs, sequenceAt } from './model.ts';

export interface StreamsContext extends ActionContext {
  now(): number;
  /**
   * How far behind the clock readers stay (ms): a record is served once this old,
   * so one whose log copy trails its item write by less is never skipped (cql).
   */
  visibilityMs: number;
  metrics?: StreamsMetrics;
}

export type StreamsAction = (
  ctx: StreamsContext,
  req: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

/** Whether a stream may still be read: enabled, or disabled within the retention. */
export const readable = (s: StreamMeta, now: number) =>
  s.disabledAt === undefined || s.disabledAt > now - retentionMs;

/** The table and stream an ARN names; ValidationException when it is no stream ARN. */
export async function findStream(
  ctx: StreamsContext,
  arn: string,
): Promise<{ meta: TableMeta; stream: StreamMeta }> {
  const parts = parseStreamArn(arn);
  if (!parts) throw validation('Invalid StreamArn');
  const missing = () => notFound(`Requested resource not found: Stream: ${arn} not found`);
  if (parts.region !== ctx.region || parts.accountId !== ctx.accountId) throw missing();
  const meta = await ctx.engine.getTable(parts.table);
  const stream = meta?.streams?.find((s) => s.label === parts.label);
  if (!meta || !stream || !readable(stream, ctx.now())) throw missing();
  return { meta, stream };
}

/** The first sequence number of a stream's only shard. */
export const startingSequence = (s: StreamMeta) => sequenceAt(s.createdAt);

/** Past the last record a disabled stream can hold: its shard is closed. */
export const endingSequence = (s: StreamMeta) =>
  s.disabledAt === undefined ? undefined : sequenceAt(s.disabledAt);

export const trimmed = () =>
  new DynamoError(
    'TrimmedDataAccessException',
    'The operation attempted to read past the oldest stream record in a shard.',
  );
