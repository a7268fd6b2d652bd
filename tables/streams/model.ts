// What a table's stream is, and the change records it holds. Both engines write a
// record in the same storage step as the item change it describes (sqlite: the
// same database transaction; cql: the same compare-and-set), so the records are
// built here from the item before and after, whoever made the change.
import { randomBytes, randomUUID } from 'node:crypto';
import { tableArn } from '../../lib/names.ts';
import { itemSize, keyOf, valuesEqual, type Item } from '../values.ts';
import type { StreamMeta, TableMeta } from '../storage/engine.ts';

export type StreamViewType = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';
export const streamViewTypes: StreamViewType[] = [
  'NEW_IMAGE',
  'OLD_IMAGE',
  'NEW_AND_OLD_IMAGES',
  'KEYS_ONLY',
];

/** Records are kept this long, as on DynamoDB. */
export const retentionMs = 24 * 60 * 60 * 1000;
/** A shard iterator may be used this long after GetShardIterator or GetRecords gave it. */
export const iteratorLifetimeMs = 15 * 60 * 1000;

/** The stream writes record into now: the latest one, unless it was disabled. */
export function activeStream(meta: TableMeta): StreamMeta | undefined {
  const last = meta.streams?.[meta.streams.length - 1];
  return last && last.disabledAt === undefined ? last : undefined;
}

/** The storage name of a stream's records: its table's id and its label. */
export const streamId = (meta: TableMeta, s: StreamMeta) => `${meta.id}/${s.label}`;

export function streamArn(region: string, accountId: string, table: string, label: string) {
  return `${tableArn(region, accountId, table)}/stream/${label}`;
}

/** An ARN's parts, or undefined when it is not a stream ARN of this shape. */
export function parseStreamArn(
  arn: string,
): { region: string; accountId: string; table: string; label: string } | undefined {
  const m =
    /^arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table\/([a-zA-Z0-9_.-]{3,255})\/stream\/(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})$/.exec(
      arn,
    );
  return m ? { region: m[1]!, accountId: m[2]!, table: m[3]!, label: m[4]! } : undefined;
}

/** DynamoDB's label: the creation time, ISO 8601 to the millisecond, without a zone. */
export const streamLabel = (ms: number) => new Date(ms).toISOString().slice(0, -1);

/** A new stream of a table, its label later than any earlier one of the table. */
export function newStream(
  previous: StreamMeta[] | undefined,
  viewType: StreamViewType,
  now: number,
): StreamMeta {
  const last = previous?.[previous.length - 1];
  const at = Math.max(now, last ? Date.parse(last.label + 'Z') + 1 : 0);
  return {
    label: streamLabel(at),
    viewType,
    createdAt: at,
    shardId: `shardId-${String(at).padStart(20, '0')}-${randomBytes(4).toString('hex')}`,
  };
}

/**
 * Sequence numbers: 22 decimal digits, the write's microsecond (16) and a node
 * number of the process (6), so numbers from different replicas never collide.
 * Fixed width makes their string order their numeric order. Within a process the
 * microsecond only moves forward, and a write never gets a number at or below
 * the previous record of its item (`floor`), whatever the clocks of the replicas.
 */
export function makeSequencer(now: () => number = Date.now) {
  const node = BigInt(1 + Math.floor(Math.random() * 999_998));
  let last = 0n;
  return (floor?: string): string => {
    let micros = BigInt(Math.floor(now() * 1000));
    if (micros <= last) micros = last + 1n;
    if (floor && micros <= BigInt(floor) / 1_000_000n) micros = BigInt(floor) / 1_000_000n + 1n;
    last = micros;
    return String(micros * 1_000_000n + node).padStart(22, '0');
  };
}

/** The microsecond a sequence number was written at, in milliseconds. */
export const sequenceTime = (seq: string) => Number(BigInt(seq) / 1_000_000_000n);

/** The first sequence number of anything written at or after `ms`. */
export const sequenceAt = (ms: number) =>
  String(BigInt(Math.floor(ms)) * 1_000_000_000n).padStart(22, '0');

/** One stream record as stored: the wire Record without awsRegion (the reader's). */
export interface StoredRecord {
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  eventVersion: '1.1';
  eventSource: 'aws:dynamodb';
  dynamodb: {
    ApproximateCreationDateTime: number;
    Keys: Item;
    NewImage?: Item;
    OldImage?: Item;
    SequenceNumber: string;
    SizeBytes: number;
    StreamViewType: StreamViewType;
  };
  userIdentity?: { Type: 'Service'; PrincipalId: 'dynamodb.amazonaws.com' };
}

/** Who made a change: a client, or TTL's expiry (a service deletion). */
export type ChangeOrigin = 'client' | 'expiry';

const sameItem = (a: Item, b: Item) => valuesEqual({ M: a }, { M: b });

/**
 * The record of an item going from `old` to `next` (null or undefined: absent),
 * or undefined when the table has no active stream or nothing changed, as
 * DynamoDB writes none for a put of the same item or a delete of nothing.
 */
export function changeRecord(
  meta: TableMeta,
  old: Item | undefined | null,
  next: Item | undefined | null,
  seq: string,
  now: number,
  origin: ChangeOrigin = 'client',
): StoredRecord | undefined {
  const stream = activeStream(meta);
  if (!stream) return undefined;
  if (!old && !next) return undefined;
  if (old && next && sameItem(old, next)) return undefined;
  const keys = keyOf(meta.schema, (next ?? old)!);
  const view = stream.viewType;
  const d: StoredRecord['dynamodb'] = {
    ApproximateCreationDateTime: Math.floor(now / 1000),
    Keys: keys,
    SequenceNumber: seq,
    SizeBytes: 0,
    StreamViewType: view,
  };
  if (next && (view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES')) d.NewImage = next;
  if (old && (view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES')) d.OldImage = old;
  d.SizeBytes =
    itemSize(keys) +
    (d.NewImage ? itemSize(d.NewImage) : 0) +
    (d.OldImage ? itemSize(d.OldImage) : 0);
  const record: StoredRecord = {
    eventID: randomUUID().replace(/-/g, ''),
    eventName: !old ? 'INSERT' : !next ? 'REMOVE' : 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    dynamodb: d,
  };
  if (origin === 'expiry') {
    record.userIdentity = { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' };
  }
  return record;
}

// Records are written inside the engines, which know no metrics: they report each
// record here and the service's instruments (streams/metrics.ts) listen.
const writtenListeners = new Set<(table: string) => void>();

export function onRecordWritten(listener: (table: string) => void): () => void {
  writtenListeners.add(listener);
  return () => writtenListeners.delete(listener);
}

export function recordWritten(table: string): void {
  for (const l of writtenListeners) l(table);
}
