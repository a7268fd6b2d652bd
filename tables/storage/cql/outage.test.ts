// A storage outage answers 500 InternalServerError for the requests it hits, and
// the service recovers by itself when the database is back. The outage is real:
// the driver reaches Cassandra through a TCP relay that this test cuts and restores
// (a single node has no peers, so the driver only ever dials its contact point).
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import cassandra from 'cassandra-driver';
import { cqlConfig, rejectsWith, startHarness } from '../../../test/support/tables.ts';

class Relay {
  private server?: Server;
  get listening(): boolean {
    return this.server !== undefined;
  }
  private sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        // The relay must never be what keeps the test process alive.
        s.unref();
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    server.unref();
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Drops every connection and refuses new ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

test('a CQL outage answers 500 InternalServerError, and the service recovers when it is back', async () => {
  const base = await cqlConfig();
  const [host, port] = base.contactPoints[0]!.split(':');
  const relay = new Relay({ host: host!, port: Number(port ?? 9042) });
  await relay.open();
  const endpoint = `127.0.0.1:${relay.port}`;
  const config = {
    ...base,
    contactPoints: [endpoint],
    clientOptions: {
      policies: {
        reconnection: new cassandra.policies.reconnection.ConstantReconnectionPolicy(200),
      },
      socketOptions: { readTimeout: 2000, connectTimeout: 1000 },
    },
  };
  const h = await startHarness('cql', { config }).catch(async (err: unknown) => {
    await relay.cut();
    throw err;
  });
  try {
    await h.client.send(
      new CreateTableCommand({
        TableName: 'outage',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await h.client.send(new PutItemCommand({ TableName: 'outage', Item: { id: { S: 'a' } } }));

    await relay.cut();
    await rejectsWith(
      h.client.send(new GetItemCommand({ TableName: 'outage', Key: { id: { S: 'a' } } })),
      'InternalServerError',
      'Internal server error',
      500,
    );
    const metrics = await h.server.registry.metrics();
    assert.match(metrics, /selfless_tables_storage_errors_total\{action="GetItem"\} [1-9]/);

    await relay.open();
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const got = await h.client.send(
          new GetItemCommand({ TableName: 'outage', Key: { id: { S: 'a' } } }),
        );
        assert.deepEqual(got.Item, { id: { S: 'a' } });
        break;
      } catch (err) {
        assert.equal((err as Error).name, 'InternalServerError');
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    // Shut the driver down while its node is reachable: a driver caught
    // reconnecting at shutdown leaves a socket that keeps the process alive.
    if (!relay.listening) await relay.open();
    await h.close();
    await relay.cut();
  }
});
