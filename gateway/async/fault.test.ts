// At-least-once under crashes: 10,000 events, the dispatcher (a child process)
// killed with SIGKILL twice mid-run and restarted. Every event must be processed at
// least once and none lost; events that were running when a dispatcher died run
// again once their leases expire, and those duplicates are counted and reported.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../../test/services/index.ts';
import { connectRedis } from './redis.ts';
import { RedisEventStore } from './redis-store.ts';
import { eventually } from '../../test/support/gateway.ts';

const EVENTS = 10_000;
const log = makeLogger('test', { level: 'error' });
let child: ChildProcess | undefined;
let disconnect: (() => void) | undefined;
// Whatever the outcome, nothing may keep this file's process alive.
after(() => {
  child?.kill('SIGKILL');
  disconnect?.();
});

test('10,000 events survive two SIGKILLed dispatchers: all processed at least once, duplicates counted', async (t) => {
  const { redisUrl } = await testServices();
  const prefix = `{fault-${randomUUID()}}`;
  const redis = await connectRedis(redisUrl, log);
  disconnect = () => redis.disconnect();
  const store = new RedisEventStore(redis, { prefix });
  const ids: string[] = [];
  for (let i = 0; i < EVENTS; i += 1000) {
    await Promise.all(
      Array.from({ length: 1000 }, (_, j) => {
        const id = randomUUID();
        ids.push(id);
        return store.enqueue({
          id,
          functionName: 'noop',
          payload: `{"i":${i + j}}`,
          requestId: id,
        });
      }),
    );
  }
  const processed = () => redis.hlen(`${prefix}:processed`);
  const start = () => {
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        new URL('../../test/support/processes/dispatcher-process.ts', import.meta.url).pathname,
      ],
      {
        // Long enough that a loaded machine (CI) still extends leases in time, so
        // only the kills cause duplicates; short enough to recover quickly.
        env: { ...process.env, REDIS_URL: redisUrl, PREFIX: prefix, LEASE_MS: '3000' },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  };
  const kills: number[] = [];
  for (const at of [2_000, 6_000]) {
    // A kill that lands between two batches holds no lease and proves nothing about
    // recovery: such a kill is followed by another, a few at most.
    for (let attempt = 0; attempt < 5; attempt++) {
      start();
      await eventually(
        `${at} processed`,
        async () =>
          (await processed()) >= at && (await store.stats()).leased > 0 ? true : undefined,
        60_000,
      );
      child!.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      const leased = (await store.stats()).leased;
      if (leased > 0) {
        kills.push(leased);
        break;
      }
    }
  }
  start();
  await eventually(
    'every event processed and the queue empty',
    async () => {
      const s = await store.stats();
      return (await processed()) === EVENTS && s.ready + s.delayed + s.leased === 0
        ? true
        : undefined;
    },
    90_000,
  );
  child!.kill('SIGKILL');
  const counts = await redis.hgetall(`${prefix}:processed`);
  const missing = ids.filter((id) => !counts[id]);
  const runs = Object.values(counts).reduce((n, c) => n + Number(c), 0);
  const duplicates = runs - EVENTS;
  t.diagnostic(
    `events ${EVENTS}, runs ${runs}, duplicates ${duplicates}, leases held at each kill: ${kills.join(', ')}`,
  );
  assert.deepEqual(missing, [], 'no event lost');
  assert.equal(kills.length, 2, 'two kills hit events in flight');
  assert.ok(
    duplicates <= kills.reduce((a, b) => a + b, 0),
    'only events in flight at a kill ran twice',
  );
  redis.disconnect();
});
