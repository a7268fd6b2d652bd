import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mock, test } from 'node:test';
import { DEMAND_WAKE_PATH, DemandSignal, makeWakeHandler } from './demand-wake.ts';

test('a watcher that has seen the current version is held until a bump, then told the new one', async () => {
  const signal = new DemandSignal();
  const held = signal.next(0, 60_000);
  let answered: number | undefined;
  void held.then((v) => (answered = v));
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, undefined, 'held while nothing waits');
  signal.bump();
  assert.equal(await held, 1);
});

test('a version other than the current one is answered at once, as after a gateway restart', async () => {
  const signal = new DemandSignal();
  assert.equal(await signal.next(7, 60_000), 0);
  assert.equal(await signal.next(-1, 60_000), 0);
});

test('a held watcher is answered with the unchanged version after its wait, and at close', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const signal = new DemandSignal();
  const timedOut = signal.next(0, 20_000);
  mock.timers.tick(20_000);
  assert.equal(await timedOut, 0);
  const closing = signal.next(0, 20_000);
  signal.close();
  assert.equal(await closing, 0);
  assert.equal(await signal.next(0, 20_000), 0, 'a closed signal holds nobody');
});

test('over HTTP: the wake request returns when an invocation waits, and a departed caller is let go', async () => {
  const signal = new DemandSignal();
  const server = createServer(makeWakeHandler(signal));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${DEMAND_WAKE_PATH}`;
  try {
    assert.deepEqual(await (await fetch(`${base}?seen=-1&wait=20000`)).json(), { version: 0 });
    const held = fetch(`${base}?seen=0&wait=20000`);
    await new Promise((r) => setTimeout(r, 50));
    signal.bump();
    assert.deepEqual(await (await held).json(), { version: 1 });

    const ac = new AbortController();
    const abandoned = fetch(`${base}?seen=1&wait=20000`, { signal: ac.signal }).catch(() => 'gone');
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    assert.equal(await abandoned, 'gone');
    // The server learns of the departure a moment later.
    const waiters = (signal as unknown as { waiters: Set<unknown> }).waiters;
    for (let i = 0; i < 100 && waiters.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(waiters.size, 0);
    assert.equal((await fetch(base, { method: 'POST' })).status, 405);
  } finally {
    server.close();
  }
});
