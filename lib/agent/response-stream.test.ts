import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkerChannel } from '../worker-channel/channel.ts';
import { relayStream, type StreamLimits } from './response-stream.ts';

const MB = 1024 * 1024;
const worker = { workerId: 'w', functionName: 'f' };
const head = { requestId: 'r', contentType: 'text/plain' };

async function* chunks(n: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, i);
}

/** A channel whose stream reads everything (or `stopAfter` chunks) and records it. */
function channel(stopAfter = Infinity) {
  const got: Buffer[] = [];
  const ch = {
    stream: async (_w: unknown, _h: unknown, body: AsyncIterable<Buffer>) => {
      for await (const c of body) {
        got.push(c);
        if (got.length >= stopAfter) break;
      }
    },
  } as unknown as WorkerChannel;
  return { ch, got };
}

/** A clock that only moves when slept on. */
function fakeClock(): Pick<StreamLimits, 'now' | 'sleep'> & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
  };
}

test('the first 6 MB pass uncapped, the rest at 2 MB/s', async () => {
  const clock = fakeClock();
  const { ch, got } = channel();
  const limits = { maxBytes: 200 * MB, burstBytes: 6 * MB, bytesPerSecond: 2 * MB, ...clock };
  const r = relayStream(ch, worker, head, chunks(10, MB), limits, (err) =>
    assert.fail(String(err)),
  );
  await r.drained;
  await r.delivered;
  assert.equal(got.length, 10);
  assert.equal(r.overflow(), undefined);
  // Chunks 1-6 fill the burst without a wait; 7-10 are each due 0.5 s after the one before.
  assert.deepEqual(clock.slept, [500, 500, 500, 500]);
});

test('past the limit the caller gets exactly maxBytes and the overflow is reported', async () => {
  const { ch, got } = channel();
  const limits = { maxBytes: 2.5 * MB, burstBytes: 6 * MB, bytesPerSecond: 2 * MB, ...fakeClock() };
  const r = relayStream(ch, worker, head, chunks(4, MB), limits, (err) => assert.fail(String(err)));
  await r.drained;
  await r.delivered;
  assert.equal(Buffer.concat(got).length, 2.5 * MB);
  assert.equal(r.overflow(), 4 * MB);
});

test("a caller that stops reading does not stop the runtime's body from being read to its end", async () => {
  const { ch, got } = channel(1);
  let read = 0;
  async function* body() {
    for (let i = 0; i < 5; i++) {
      read++;
      yield Buffer.from(`c${i}`);
    }
  }
  const limits = { maxBytes: MB, burstBytes: MB, bytesPerSecond: MB, ...fakeClock() };
  const r = relayStream(ch, worker, head, body(), limits, (err) => assert.fail(String(err)));
  await r.delivered;
  await r.drained;
  assert.equal(got.length, 1);
  assert.equal(read, 5);
});
