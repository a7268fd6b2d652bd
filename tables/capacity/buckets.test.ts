// The bucket arithmetic on both stores, with an injected clock: the in-process
// store, and the Redis store on a real Redis, where two guards (two replicas) draw
// on one budget.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { testServices } from '../../test/services/index.ts';
import type { BucketSpec, BucketStore } from './buckets.ts';
import { MemoryBucketStore } from './store-memory.ts';
import { RedisBucketStore } from './store-redis.ts';

const t0 = Date.UTC(2026, 0, 1);
let n = 0;
const spec = (rate: number, burst = rate * 300): BucketSpec => ({
  key: `test-${process.pid}-${Date.now()}-${n++}`,
  rate,
  burst,
});

const stores: BucketStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
});

async function redisStore(): Promise<RedisBucketStore> {
  const { redisUrl } = await testServices();
  const s = new RedisBucketStore(new Redis(redisUrl));
  stores.push(s);
  return s;
}

const kinds: [string, () => Promise<BucketStore>][] = [
  ['memory', () => Promise.resolve(new MemoryBucketStore())],
  ['redis', redisStore],
];

for (const [kind, open] of kinds) {
  describe(`${kind} bucket store`, () => {
    test('a new bucket holds 300 s of its rate, then refills at the rate and no further', async () => {
      const store = await open();
      const b = spec(5);
      const take = (now: number) => store.take([{ spec: b, units: 1, mode: 'reserve' }], now);
      let served = 0;
      while ((await take(t0)) === -1) served++;
      assert.equal(served, 1500, 'the burst credit: 300 s of 5 units');
      assert.equal(await take(t0 + 100), 0, 'a tenth of a second refills half a unit: not enough');
      assert.equal(await take(t0 + 200), -1, 'a fifth of a second refills one unit');
      assert.equal(await take(t0 + 200), 0);
      // An hour idle refills to the burst, never beyond it.
      served = 0;
      while ((await take(t0 + 3_600_000)) === -1) served++;
      assert.equal(served, 1500);
    });

    test('a settlement beyond the reservation leaves a debt the refill pays back first', async () => {
      const store = await open();
      const b = spec(10, 10);
      assert.equal(await store.take([{ spec: b, units: 10, mode: 'reserve' }], t0), -1);
      await store.charge([{ spec: b, units: 5 }], t0);
      // -5 units: 0.6 s of refill before one unit is there again.
      assert.equal(await store.take([{ spec: b, units: 1, mode: 'reserve' }], t0 + 400), 0);
      assert.equal(await store.take([{ spec: b, units: 1, mode: 'reserve' }], t0 + 600), -1);
      // The debt is floored at one burst: a huge settlement cannot lock the table for long.
      await store.charge([{ spec: b, units: 1000 }], t0 + 600);
      assert.equal(await store.take([{ spec: b, units: 1, mode: 'reserve' }], t0 + 1700), -1);
      const per = await store.consumed(b.key, t0 + 1700, 2);
      assert.deepEqual([...per.values()], [0, 1017]);
    });

    test('a request draws on all its buckets or none', async () => {
      const store = await open();
      const table = spec(1, 2);
      const index = spec(1, 1);
      assert.equal(await store.take([{ spec: index, units: 1, mode: 'reserve' }], t0), -1);
      const draws = [
        { spec: table, units: 1, mode: 'reserve' as const },
        { spec: index, units: 1, mode: 'positive' as const },
      ];
      assert.equal(await store.take(draws, t0), 1, 'the index is empty');
      assert.equal(
        await store.take([{ spec: table, units: 2, mode: 'reserve' }], t0),
        -1,
        'the table kept both units',
      );
    });
  });
}

test('two replicas on one Redis share one budget', async () => {
  const a = await redisStore();
  const b = await redisStore();
  const s = spec(2, 10);
  let served = 0;
  for (let i = 0; i < 20; i++) {
    const store = i % 2 ? a : b;
    if ((await store.take([{ spec: s, units: 1, mode: 'reserve' }], t0)) === -1) served++;
  }
  assert.equal(served, 10);
  // Half a second refills one unit, which ever replica takes it first.
  assert.equal(await a.take([{ spec: s, units: 1, mode: 'reserve' }], t0 + 500), -1);
  assert.equal(await b.take([{ spec: s, units: 1, mode: 'reserve' }], t0 + 500), 0);
});
