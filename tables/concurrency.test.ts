// Read-modify-write must be linearizable: parallel conditional increments of one
// item through the API may never lose an update, on either engine. On CQL a second
// service instance (its own driver session) increments the same item at the same
// time, so only LWT, not the in-process queue, can keep the count exact.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { makeLogger } from '../lib/log.ts';
import { openEngine } from './engine.ts';
import { startTablesServer } from './server.ts';
import {
  cqlConfig,
  dropKeyspace,
  sdkClient,
  startHarness,
  type Harness,
} from '../test/support/tables.ts';

const increment = (doc: DynamoDBDocumentClient, id: string) =>
  doc.send(
    new UpdateCommand({
      TableName: 'counters',
      Key: { id },
      UpdateExpression: 'SET c = if_not_exists(c, :zero) + :one',
      ConditionExpression: 'attribute_not_exists(c) OR c < :limit',
      ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':limit': 1000 },
    }),
  );

const count = async (doc: DynamoDBDocumentClient, id: string) =>
  (await doc.send(new GetCommand({ TableName: 'counters', Key: { id }, ConsistentRead: true })))
    .Item?.c as number | undefined;

for (const kind of ['sqlite', 'cql'] as const) {
  describe(`conditional increments on ${kind}`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(kind);
      await h.client.send(
        new CreateTableCommand({
          TableName: 'counters',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    });
    after(async () => {
      await h?.close();
    });

    test('200 parallel conditional increments of one item end at exactly 200', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, () => increment(h.doc, 'one-server')),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(
        failed.length,
        0,
        String((failed[0] as PromiseRejectedResult | undefined)?.reason),
      );
      assert.equal(await count(h.doc, 'one-server'), 200);
    });
  });
}

describe('conditional increments from two service instances on one CQL keyspace', () => {
  test('100 + 100 parallel increments through two servers end at exactly 200', async () => {
    const config = await cqlConfig();
    const engines = [await openEngine(config), await openEngine(config)];
    const log = makeLogger('tables', { level: 'error' });
    const servers = await Promise.all(engines.map((engine) => startTablesServer({ engine, log })));
    const clients = servers.map((s) => sdkClient(s.url));
    const docs = clients.map((c) => DynamoDBDocumentClient.from(c));
    try {
      await clients[0]!.send(
        new CreateTableCommand({
          TableName: 'counters',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) => increment(docs[i % 2]!, 'two-servers')),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(
        failed.length,
        0,
        String((failed[0] as PromiseRejectedResult | undefined)?.reason),
      );
      assert.equal(await count(docs[1]!, 'two-servers'), 200);
    } finally {
      for (const c of clients) c.destroy();
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(engines.map((e) => e.close()));
      await dropKeyspace(config);
    }
  });
});
