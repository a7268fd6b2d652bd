import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { makeDrain, READINESS_PATH } from './http-drain.ts';

/** A sleep the test ends by hand: no real time passes. */
function manualSleep() {
  const pending: { ms: number; wake: () => void }[] = [];
  return {
    pending,
    sleep: (ms: number) => new Promise<void>((wake) => pending.push({ ms, wake })),
    wakeAll: () => pending.splice(0).forEach((p) => p.wake()),
  };
}

function get(server: Server, path: string) {
  // The port outlives the listener: asked after the close, the answer is a refusal.
  const port = ports.get(server)!;
  return new Promise<{ status: number; connection: string | undefined; body: string }>(
    (resolve, reject) => {
      const req = request({ port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode!, connection: res.headers.connection, body }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

const ports = new WeakMap<Server, number>();

async function serve(clock: ReturnType<typeof manualSleep>) {
  let release: (() => void) | undefined;
  const held = new Promise<void>((r) => (release = r));
  const drain = makeDrain({
    delayMs: 5000,
    maxMs: 60_000,
    isClient: (req) => !req.url!.startsWith('/_selfless/'),
    sleep: clock.sleep,
  });
  const server = createServer(
    drain.handler((req, res) => {
      if (req.url === '/slow') void held.then(() => res.end('slow done'));
      else res.end('ok');
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ports.set(server, (server.address() as AddressInfo).port);
  return { drain, server, release: () => release!() };
}

test('draining: readiness turns 503, clients are still served but told to close, the port stays open for the delay', async () => {
  const clock = manualSleep();
  const { drain, server } = await serve(clock);
  assert.equal((await get(server, READINESS_PATH)).status, 200);
  const done = drain.drain(server);
  assert.equal((await get(server, READINESS_PATH)).status, 503);
  const during = await get(server, '/2015-03-31/functions/');
  assert.equal(during.status, 200);
  assert.equal(during.connection, 'close');
  assert.deepEqual(
    clock.pending.map((p) => p.ms),
    [5000],
  );
  clock.wakeAll();
  await done;
  await assert.rejects(get(server, '/'), /ECONNREFUSED/);
});

test('after the delay the server waits for an open client request, not for an agent poll', async () => {
  const clock = manualSleep();
  const { drain, server, release } = await serve(clock);
  const slow = get(server, '/slow');
  const poll = get(server, '/_selfless/worker/v1/slow').catch(() => undefined);
  await new Promise((r) => setImmediate(r));
  while (drain.openClientRequests < 1) await new Promise((r) => setImmediate(r));
  let closed = false;
  const done = drain.drain(server).then(() => (closed = true));
  clock.wakeAll(); // the delay is over
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false, 'the client call in flight holds the close');
  assert.equal(drain.openClientRequests, 1, 'the agent poll is not counted');
  release();
  assert.equal((await slow).body, 'slow done');
  await done;
  assert.equal(closed, true);
  await poll;
});
