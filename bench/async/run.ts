// bench/async: end-to-end events per second through the async queue with a no-op
// function, against BullMQ doing the same work on the same Redis in the same run.
// Each side: N events added one call each (as N Event invocations would), C at a
// time, while one consumer with concurrency C runs a no-op on each; the clock
// stops when the last event is finished. Runs alternate (ours, BullMQ, ours, ...)
// and the best of each is reported.
//
//   REDIS_URL=redis://127.0.0.1:6379 node --import tsx bench/async/run.ts [events] [rounds]
// Without REDIS_URL a local redis-server (AOF on) is started for the run.
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { makeLogger } from '../../lib/log.ts';
import { EventInvokeConfigs } from '../../gateway/async/config.ts';
import { makeDispatcher } from '../../gateway/async/dispatcher.ts';
import { makeAsyncMetrics } from '../../gateway/async/metrics.ts';
import { LAMBDA_DELAYS } from '../../gateway/async/policy.ts';
import { connectRedis } from '../../gateway/async/redis.ts';
import { RedisEventStore } from '../../gateway/async/redis-store.ts';
import { outcome, testFunction } from '../../test/support/gateway.ts';
import { FunctionRegistry } from '../../gateway/registry.ts';
import { startRedis } from '../../test/services/local.ts';

const EVENTS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const CONCURRENCY = 64;
const log = makeLogger('bench', { level: 'error' });

async function addAll(add: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < EVENTS) await add(next++);
    }),
  );
}

async function ours(url: string): Promise<number> {
  const redis = await connectRedis(url, log);
  const store = new RedisEventStore(redis, { prefix: `{bench-${randomUUID()}}` });
  const registry = new FunctionRegistry();
  registry.put(testFunction('noop'));
  const t0 = performance.now();
  const dispatcher = makeDispatcher({
    store,
    registry,
    configs: new EventInvokeConfigs(store, 60_000),
    functionArn: (n) => n,
    metrics: makeAsyncMetrics(new Registry(), store, Date.now),
    log,
    clock: Date.now,
    options: {
      concurrency: CONCURRENCY,
      batch: CONCURRENCY,
      leaseMs: 30_000,
      pollMs: 5,
      delays: LAMBDA_DELAYS,
    },
    invoke: (_fn, req) => Promise.resolve(outcome(req, 'ok')),
  });
  dispatcher.start();
  await addAll(() => {
    const id = randomUUID();
    return store.enqueue({ id, functionName: 'noop', payload: `{"i":1}`, requestId: id });
  });
  // Done when every event has been completed and removed from the queue.
  for (;;) {
    const q = await store.stats();
    if (q.ready + q.delayed + q.leased === 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const seconds = (performance.now() - t0) / 1000;
  await dispatcher.stop();
  await store.close();
  return EVENTS / seconds;
}

async function bullmq(url: string): Promise<number> {
  const name = `bench-${randomUUID()}`;
  const connection = () => new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: connection() });
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const t0 = performance.now();
  const worker = new Worker(name, async () => 'ok', {
    connection: connection(),
    concurrency: CONCURRENCY,
    removeOnComplete: { count: 0 },
  });
  worker.on('completed', () => {
    if (++done === EVENTS) finished();
  });
  await addAll(() => queue.add('noop', { i: 1 }, { removeOnComplete: true }));
  await all;
  const seconds = (performance.now() - t0) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return EVENTS / seconds;
}

let url = process.env.REDIS_URL;
const local = url ? undefined : await startRedis();
url ??= local!.endpoint;
const best = { ours: 0, bullmq: 0 };
for (let r = 0; r < ROUNDS; r++) {
  best.ours = Math.max(best.ours, await ours(url));
  best.bullmq = Math.max(best.bullmq, await bullmq(url));
}
await local?.stop();
process.stdout.write(
  `async queue, ${EVENTS} events, concurrency ${CONCURRENCY}, best of ${ROUNDS}:\n` +
    `  selfless  ${best.ours.toFixed(0)} events/s\n` +
    `  BullMQ    ${best.bullmq.toFixed(0)} events/s\n` +
    `  ratio     ${(best.ours / best.bullmq).toFixed(2)}x BullMQ\n`,
);
process.exit(0);
