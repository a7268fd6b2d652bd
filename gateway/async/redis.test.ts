// The gateway starts before Redis in a cluster (a fresh install, a Redis pod being
// replaced): connecting must wait through refusals, not end the process at the first.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../../test/services/index.ts';
import { connectRedis } from './redis.ts';

test('connectRedis waits through refused connections until Redis answers', async () => {
  const { redisUrl } = await testServices();
  const target = new URL(redisUrl);
  // A port that refuses until the proxy behind it starts listening.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  let reportRefusal!: () => void;
  const refused = new Promise<void>((r) => (reportRefusal = r));
  const log = makeLogger('test', {
    write: (l: string) => {
      if (l.includes('redis unavailable')) reportRefusal();
    },
  });
  let settled = false;
  const pending = connectRedis(`redis://127.0.0.1:${port}`, log).finally(() => (settled = true));

  await refused;
  assert.equal(settled, false, 'still waiting after a refusal');

  const sockets: Socket[] = [];
  const proxy: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.push(client, upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
  const redis = await pending;
  try {
    assert.equal(await redis.ping(), 'PONG');
  } finally {
    redis.disconnect();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => proxy.close(() => r()));
  }
});
