// The driver's write coalescing (coalesce.ts) on a real Cassandra: requests made
// from separate callbacks of one event loop phase leave in one socket write.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import cassandra from 'cassandra-driver';
import { testServices } from '../../../test/services/index.ts';
import { coalesceDriverWrites } from './coalesce.ts';

let client: cassandra.Client;
let port: number;

before(async () => {
  // Applied before the client exists, as the engine does.
  assert.equal(coalesceDriverWrites(), true, 'the installed driver has the expected write queue');
  const s = await testServices();
  port = Number(s.cqlContactPoints[0]!.split(':')[1] ?? 9042);
  client = new cassandra.Client({
    contactPoints: s.cqlContactPoints,
    localDataCenter: s.cqlLocalDataCenter,
  });
  await client.connect();
});
after(async () => {
  await client?.shutdown();
});

test('twenty requests made from twenty callbacks of one loop phase go out in one socket write', async () => {
  const query = 'SELECT release_version FROM system.local';
  await client.execute(query, [], { prepare: true });
  let writes = 0;
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
    if (this.remotePort === port) writes++;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;
  try {
    // Each request from a callback of its own, as a server's HTTP requests are:
    // without coalescing each one is flushed on its own next tick.
    const answers = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<cassandra.types.ResultSet>((resolve, reject) =>
            setImmediate(() => client.execute(query, [], { prepare: true }).then(resolve, reject)),
          ),
      ),
    );
    assert.equal(answers.length, 20);
    assert.ok(answers.every((rs) => rs.rows.length === 1));
  } finally {
    net.Socket.prototype.write = write;
  }
  assert.equal(writes, 1);
});
