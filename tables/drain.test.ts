// The table service drains on SIGTERM as the gateway does (lib/http-drain.ts): while
// the Service's endpoints update, readiness answers 503 and DynamoDB calls are still
// served, each telling its client to reconnect; then the port closes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { makeDrain } from '../lib/http-drain.ts';
import { openEngine } from './engine.ts';
import { startTablesServer } from './server.ts';

test('a draining table service is unready, still serves DynamoDB calls, then closes', async () => {
  let wake: (() => void) | undefined;
  const drain = makeDrain({
    delayMs: 5000,
    maxMs: 25_000,
    isClient: (req) => req.url !== '/metrics',
    // The endpoints' update is a moment the test ends by hand.
    sleep: () => new Promise<void>((r) => (wake = r)),
  });
  const engine = await openEngine({ engine: 'sqlite' });
  const server = await startTablesServer({ engine, wrap: drain.handler });
  const client = new DynamoDBClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  try {
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    const drained = drain.drain(server.server);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
    await client.send(
      new CreateTableCommand({
        TableName: 'during-drain',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const raw = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
      },
      body: '{}',
    });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers.get('connection'), 'close', 'the client is told to reconnect');
    assert.deepEqual((await raw.json()) as unknown, { TableNames: ['during-drain'] });
    wake!();
    await drained;
    await assert.rejects(client.send(new ListTablesCommand({})), 'the port is closed');
  } finally {
    client.destroy();
    await engine.close();
  }
});
