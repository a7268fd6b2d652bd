// Shard iterators are self-contained, so any replica can serve any of them: the
// stream, the shard, the position (the sequence number the next record must be
// above) and when the iterator was handed out (it expires 15 minutes later).
import { DynamoError, validation } from '../errors.ts';
import { iteratorLifetimeMs } from './model.ts';

export interface ShardIterator {
  arn: string;
  shard: string;
  after: string;
  issued: number;
}

export function encodeIterator(it: ShardIterator): string {
  return Buffer.from(JSON.stringify([it.arn, it.shard, it.after, it.issued])).toString('base64url');
}

export function decodeIterator(text: string, now: number): ShardIterator {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw validation('Invalid ShardIterator');
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 4 ||
    typeof parts[0] !== 'string' ||
    typeof parts[1] !== 'string' ||
    typeof parts[2] !== 'string' ||
    !/^\d{22}$/.test(parts[2]) ||
    typeof parts[3] !== 'number'
  ) {
    throw validation('Invalid ShardIterator');
  }
  const it = { arn: parts[0], shard: parts[1], after: parts[2], issued: parts[3] };
  if (now - it.issued > iteratorLifetimeMs) {
    throw new DynamoError(
      'ExpiredIteratorException',
      `Iterator expired. The iterator was created at time ${new Date(it.issued).toUTCString()} while right now it is ${new Date(now).toUTCString()} which is further in the future than the tolerated delay of ${iteratorLifetimeMs} milliseconds.`,
    );
  }
  return it;
}
