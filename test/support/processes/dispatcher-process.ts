// A dispatcher alone in a process, for the fault test: its function `noop` records
// each event it runs in the Redis hash <prefix>:processed (id -> times run).
import { makeLogger } from '../../../lib/log.ts';
import { FunctionRegistry } from '../../../gateway/registry.ts';
import { EventInvokeConfigs } from '../../../gateway/async/config.ts';
import { makeDispatcher } from '../../../gateway/async/dispatcher.ts';
import { makeAsyncMetrics } from '../../../gateway/async/metrics.ts';
import { LAMBDA_DELAYS } from '../../../gateway/async/policy.ts';
import { connectRedis } from '../../../gateway/async/redis.ts';
import { RedisEventStore } from '../../../gateway/async/redis-store.ts';
import { outcome, testFunction } from '../gateway.ts';
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
