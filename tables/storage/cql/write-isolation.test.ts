// Write isolation on the CQL engine (storage/write-isolation.ts), seen in the CQL
// statements the service sends: a request tracker on the engine's driver session
// records every one of them.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import {
  CreateTableCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  TagResourceCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import cassandra from 'cassandra-driver';
import { makeLogger } from '../../../lib/log.ts';
import { cqlConfig, dropKeyspace, rejectsWith, sdkClient } from '../../../test/support/tables.ts';
import { startTablesServer, type TablesServer } from '../../server.ts';
import type { StorageEngine } from '../engine.ts';
import { writeIsolationTag } from '../write-isolation.ts';
import { openCqlEngine } from './engine.ts';

/** Every statement (each statement of a batch) on the items tables, in order. */
let statements: string[] = [];
// The driver checks for an instance of its class, which its typings call an interface.
const Tracker = (
  cassandra.tracker as unknown as { RequestTracker: new () => cassandra.tracker.RequestTracker }
).RequestTracker;
class Recorder extends Tracker {
  override onSuccess(_host: unknown, query: string | { query: string }[]): void {
    record(query);
  }
  override onError(_host: unknown, query: string | { query: string }[]): void {
    record(query);
  }
}
function record(query: string | { query: string }[]): void {
  for (const q of typeof query === 'string' ? [query] : query.map((s) => s.query)) {
    if (/\.items_/.test(q)) statements.push(q);
  }
}
const lwt = (q: string) => / IF (NOT EXISTS|v = |tx = )/.test(q);

let config: Awaited<ReturnType<typeof cqlConfig>>;
let engine: StorageEngine;
let server: TablesServer;
let client: DynamoDBClient;
const arns: Record<string, string> = {};

async function table(name: string, isolation?: string): Promise<void> {
  const out = await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      Tags: isolation ? [{ Key: writeIsolationTag, Value: isolation }] : undefined,
    }),
  );
  arns[name] = out.TableDescription!.TableArn!;
}
const put = (TableName: string, id: string, extra: Partial<PutItemCommand['input']> = {}) =>
  client.send(new PutItemCommand({ TableName, Item: { id: { S: id }, n: { N: '1' } }, ...extra }));

before(async () => {
  config = await cqlConfig();
  engine = await openCqlEngine({ ...config, clientOptions: { requestTracker: new Recorder() } });
  server = await startTablesServer({ engine, log: makeLogger('tables', { level: 'error' }) });
  client = sdkClient(server.url);
  await table('plain');
  await table('always', 'always_use_lwt');
  await table('forbid', 'f');
});
beforeEach(() => {
  statements = [];
});
after(async () => {
  client?.destroy();
  await server?.close();
  await engine?.close();
  if (config) await dropKeyspace(config);
});

test('under only_rmw_uses_lwt (the default) a plain PutItem and DeleteItem are one CQL write each, without LWT', async () => {
  await put('plain', 'a');
  await client.send(new DeleteItemCommand({ TableName: 'plain', Key: { id: { S: 'a' } } }));
  assert.equal(statements.length, 2, statements.join('\n'));
  assert.match(statements[0]!, /^INSERT INTO \S+ \(pk, sk, item, v\) VALUES/);
  assert.match(statements[1]!, /^DELETE FROM /);
  assert.equal(statements.filter(lwt).length, 0);
});

test('under only_rmw_uses_lwt a conditional PutItem is still a compare-and-set, and a failed condition is still refused', async () => {
  await put('plain', 'b');
  statements = [];
  await rejectsWith(
    put('plain', 'b', { ConditionExpression: 'attribute_not_exists(id)' }),
    'ConditionalCheckFailedException',
    'The conditional request failed',
  );
  // The condition was decided on a SERIAL read; nothing was written.
  assert.equal(statements.length, 1, statements.join('\n'));
  assert.match(statements[0]!, /^SELECT item, v, tx/);
  await put('plain', 'b', {
    ConditionExpression: 'n = :one',
    ExpressionAttributeValues: { ':one': { N: '1' } },
  });
  assert.equal(statements.filter(lwt).length, 1, statements.join('\n'));
});

test('under always_use_lwt a plain PutItem is a compare-and-set', async () => {
  await put('always', 'a');
  await put('always', 'a');
  // IF NOT EXISTS for the new item, IF v = for the second write.
  const writes = statements.filter((q) => !q.startsWith('SELECT'));
  assert.equal(writes.length, 2, statements.join('\n'));
  assert.ok(writes.every(lwt), writes.join('\n'));
});

test('under forbid_rmw blind writes are served without LWT and read-modify-write is refused before any statement', async () => {
  await put('forbid', 'a');
  assert.equal(statements.filter(lwt).length, 0);
  statements = [];
  const refused =
    "Read-modify-write operations are disabled by 'forbid_rmw' write isolation policy.";
  await rejectsWith(
    put('forbid', 'a', { ConditionExpression: 'attribute_exists(id)' }),
    'ValidationException',
    refused,
  );
  await rejectsWith(
    put('forbid', 'a', { ReturnValues: 'ALL_OLD' }),
    'ValidationException',
    refused,
  );
  await rejectsWith(
    client.send(
      new UpdateItemCommand({
        TableName: 'forbid',
        Key: { id: { S: 'a' } },
        UpdateExpression: 'SET n = :two',
        ExpressionAttributeValues: { ':two': { N: '2' } },
      }),
    ),
    'ValidationException',
    refused,
  );
  assert.deepEqual(statements, []);
  const got = await client.send(
    new GetItemCommand({ TableName: 'forbid', Key: { id: { S: 'a' } } }),
  );
  assert.deepEqual(got.Item, { id: { S: 'a' }, n: { N: '1' } });
});

test('a table changes its write isolation with TagResource, and an unknown value is refused', async () => {
  await rejectsWith(
    client.send(
      new TagResourceCommand({
        ResourceArn: arns.plain,
        Tags: [{ Key: writeIsolationTag, Value: 'unsafe_rmw' }],
      }),
    ),
    'ValidationException',
    /^Incorrect write isolation tag unsafe_rmw\. Allowed values: /,
  );
  await client.send(
    new TagResourceCommand({
      ResourceArn: arns.plain,
      Tags: [{ Key: writeIsolationTag, Value: 'always' }],
    }),
  );
  statements = [];
  await put('plain', 'c');
  assert.ok(statements.some(lwt), statements.join('\n'));
});
