// A gateway replica for the cluster-wide concurrency test: the Redis limiter, and a
// function `slow` (reservedConcurrentExecutions from RESERVED) that records in
// Redis how many of its invocations run at once across every replica. Prints its
// URL on stdout once listening.
import type { AddressInfo } from 'node:net';
import { makeLogger } from '../../../lib/log.ts';
import { makeGateway } from '../../../gateway/app.ts';
import { DEFAULT_QUOTAS } from '../../../gateway/limiter.ts';
import { RedisLimiter } from '../../../gateway/limiter-redis.ts';
import { FunctionRegistry } from '../../../gateway/registry.ts';
import { connectRedis } from '../../../gateway/async/redis.ts';
import { inlineDriver, testFunction } from '../gateway.ts';

const log = makeLogger('gateway-child', { level: 'error' });
const prefix = process.env.PREFIX!;
const redis = await connectRedis(process.env.REDIS_URL!, log);
const registry = new FunctionRegistry();
registry.put(
  testFunction('slow', {}, { reservedConcurrentExecutions: Number(process.env.RESERVED) }),
);
const running = `${prefix}:running`;
const peak = `${prefix}:peak`;
const gateway = makeGateway({
  registry,
  log,
  limiter: new RedisLimiter(redis, DEFAULT_QUOTAS, () => registry.reservedTotal(), {
    prefix,
    log,
  }),
  driver: inlineDriver({
    slow: async () => {
      const now = await redis.incr(running);
      await redis.eval(
        "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end",
        1,
        peak,
        now,
      );
      await new Promise((r) => setTimeout(r, 50));
      await redis.decr(running);
      return 'done';
    },
  }),
});
const server = gateway.app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void gateway.close().then(() => process.exit(0));
});
