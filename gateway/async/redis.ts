// The Redis connection the queue, the limiter and the scheduler share. It fails
// fast while disconnected (no offline queue): an Event call then gets a 5xx at
// once instead of hanging, and never a 202 for an event Redis did not take.
import { Redis } from 'ioredis';
import type { Logger } from '../../lib/log.ts';

export async function connectRedis(url: string, log: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 5_000,
    // Concurrent calls (many Event requests, many completions) share round trips.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let lastLog = 0;
  redis.on('error', (err: Error) => {
    if (Date.now() - lastLog < 5_000) return;
    lastLog = Date.now();
    log.warn('redis unavailable', { err: err.message });
  });
  // The first connection may fail while Redis starts (in a cluster its name resolves
  // only once its pod is ready): the retry strategy keeps trying, and the caller waits
  // for the connection instead of exiting on the first refusal.
  await new Promise<void>((ready) => {
    redis.once('ready', ready);
    redis.connect().catch(() => undefined);
  });
  return redis;
}
