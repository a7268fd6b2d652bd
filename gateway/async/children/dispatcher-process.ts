// A dispatcher alone in a process, for the fault test: its function `noop` records
// each event it runs in the Redis hash <prefix>:processed (id -> times run).
import { makeLogger } from '../../../lib/log.ts';
import { FunctionRegistry } from '../../registry.ts';
import { EventInvokeConfigs } from '../config.ts';
import { makeDispatcher } from '../dispatcher.ts';
import { makeAsyncMetrics } from '../metrics.ts';
import { LAMBDA_DELAYS } from '../policy.ts';
import { connectRedis } from '../redis.ts';
import { RedisEventStore } from '../redis-store.ts';
import { outcome, testFunction } from '../testing.ts';
import { Registry } from 'prom-client';

const log = makeLogger('dispatcher-child', { level: 'error' });
const prefix = process.env.PREFIX!;
const redis = await connectRedis(process.env.REDIS_URL!, log);
const store = new RedisEventStore(redis, { prefix });
const registry = new FunctionRegistry();
registry.put(testFunction('noop'));
makeDispatcher({
  store,
  registry,
  configs: new EventInvokeConfigs(store, 60_000),
  functionArn: (n) => n,
  metrics: makeAsyncMetrics(new Registry(), store, Date.now),
  log,
  clock: Date.now,
  options: {
    concurrency: 64,
    batch: 64,
    leaseMs: Number(process.env.LEASE_MS),
    pollMs: 20,
    delays: LAMBDA_DELAYS,
  },
  invoke: async (_fn, req) => {
    await redis.hincrby(`${prefix}:processed`, req.requestId!, 1);
    return outcome(req, 'ok');
  },
}).start();
process.stdout.write('ready\n');
