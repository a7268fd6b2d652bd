// The cluster-wide limiter on real Redis: two gateway processes sharing Redis never
// run more of a function than its reservation together, a replica that dies
// without releasing gives its slots back when its leases expire, and the pool
// for functions without a reservation is shared the same way.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { makeLogger } from '../lib/log.ts';
import { testServices } from '../test/services/index.ts';
import { eventually } from '../test/support/gateway.ts';
import { connectRedis } from './async/redis.ts';
import { RedisLimiter } from './limiter-redis.ts';

const log = makeLogger('test', { level: 'error' });
const children: ChildProcess[] = [];
const limiters: RedisLimiter[] = [];
let redis: Redis | undefined;

after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const l of limiters) l.close();
  redis?.disconnect();
});

async function startReplica(env: Record<string, string>): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL('../test/support/processes/gateway-process.ts', import.meta.url).pathname,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) if (line.startsWith('http://')) return line;
  throw new Error('replica did not start');
}

describe('RedisLimiter', () => {
  test('two gateway processes sharing Redis never exceed a reservation together', async () => {
    const { redisUrl } = await testServices();
    redis = await connectRedis(redisUrl, log);
    const prefix = `{lim-${randomUUID()}}`;
    const env = { REDIS_URL: redisUrl, PREFIX: prefix, RESERVED: '3' };
    const urls = await Promise.all([startReplica(env), startReplica(env)]);
    const statuses: number[] = [];
    // 4 rounds of 12 concurrent calls on each replica: 24 at once against a reservation of 3.
    for (let round = 0; round < 4; round++) {
      const calls = urls.flatMap((u) =>
        Array.from({ length: 12 }, () =>
          fetch(`${u}/2015-03-31/functions/slow/invocations`, { method: 'POST', body: '{}' }).then(
            async (r) => {
              await r.arrayBuffer();
              return r.status;
            },
          ),
        ),
      );
      statuses.push(...(await Promise.all(calls)));
    }
    const peak = Number(await redis.get(`${prefix}:peak`));
    const ok = statuses.filter((s) => s === 200).length;
    const throttled = statuses.filter((s) => s === 429).length;
    assert.equal(ok + throttled, statuses.length, `only 200 and 429, got ${statuses}`);
    assert.ok(peak <= 3, `at most 3 ran at once across both replicas, saw ${peak}`);
    assert.equal(peak, 3, 'the reservation was used in full');
    assert.ok(ok >= 12 && throttled > 0, `${ok} admitted, ${throttled} throttled`);
  });

  test('a replica that dies holding slots gives them back when its leases expire', async () => {
    const { redisUrl } = await testServices();
    const conn = await connectRedis(redisUrl, log);
    let now = Date.now();
    const prefix = `{lim-${randomUUID()}}`;
    const opts = { prefix, leaseMs: 300, clock: () => now, log };
    const dying = new RedisLimiter(conn, { accountLimit: 10, unreservedFloor: 0 }, () => 2, opts);
    const alive = new RedisLimiter(conn, { accountLimit: 10, unreservedFloor: 0 }, () => 2, opts);
    limiters.push(dying, alive);
    for (let i = 0; i < 2; i++) assert.ok((await dying.acquire('f', 2)).ok);
    // The pool is 10 - 2 reserved = 8; fill it from the dying replica too.
    for (let i = 0; i < 8; i++) assert.ok((await dying.acquire(`g${i}`, undefined)).ok);
    dying.close(); // stops extending its leases, as a crashed process would
    const full = {
      f: { ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' },
      h: { ok: false, reason: 'ConcurrentInvocationLimitExceeded' },
    };
    assert.deepEqual(await alive.acquire('f', 2), full.f);
    assert.deepEqual(await alive.acquire('h', undefined), full.h);
    now += 299;
    assert.deepEqual(await alive.acquire('f', 2), full.f, 'held until the lease ends');
    assert.deepEqual(await alive.acquire('h', undefined), full.h);
    now += 1;
    const a = await alive.acquire('f', 2);
    const b = await alive.acquire('h', undefined);
    assert.ok(a.ok && b.ok, 'slots freed by expiry');
    // A live holder keeps its lease past the lease time by extending it.
    now += 200;
    await eventually('the lease extended from the new time', async () => {
      const scores = await conn.zrange(`${prefix}:concurrency:fn:f`, 0, -1, 'WITHSCORES');
      return scores.length === 2 && Number(scores[1]) === now + 300;
    });
    now += 200;
    assert.ok((await alive.acquire('f', 2)).ok, 'second slot of f');
    assert.equal((await alive.acquire('f', 2)).ok, false, 'the extended lease still counts');
    if (a.ok) a.lease.release();
    assert.equal(alive.inFlight('f'), 1);
    conn.disconnect();
  });
});
