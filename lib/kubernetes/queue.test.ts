import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from './queue.ts';

test('events for one key collapse into one pending item', async () => {
  const q = new WorkQueue();
  for (const k of ['a', 'b', 'a', 'a', 'b']) q.add(k);
  assert.equal(q.depth, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
});

test('a key added while it is processed is processed again afterwards, never concurrently', async () => {
  const q = new WorkQueue();
  q.add('a');
  const k = await q.get();
  q.add('a');
  assert.equal(q.depth, 0, 'not handed out while in process');
  q.done(k!);
  assert.equal(q.depth, 1);
  assert.equal(await q.get(), 'a');
});

test('failures back off exponentially per key, and forget() starts over', () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => q.addRateLimited('a')),
    [10, 20, 40, 50, 50],
  );
  assert.equal(q.addRateLimited('b'), 10);
  q.forget('a');
  assert.equal(q.addRateLimited('a'), 10);
  q.shutDown();
});

test('addAfter delivers the key later; shutDown releases waiting workers', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const q = new WorkQueue();
  q.addAfter('late', 50);
  t.mock.timers.tick(49);
  assert.equal(q.depth, 0, 'not before its delay');
  t.mock.timers.tick(1);
  assert.equal(q.depth, 1);
  assert.equal(await q.get(), 'late');
  const waiting = q.get();
  q.shutDown();
  assert.equal(await waiting, undefined);
});
