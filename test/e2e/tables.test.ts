// Table resources on the real cluster: a Table reconciles into a table the AWS SDK
// reads and writes through the table service Service, and deletion protection keeps
// the data and the finalizer when the resource is deleted, until it is lifted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  deleteNamespace,
  dynamodbClient,
  e2eCluster,
  eventually,
  getJson,
  kubectl,
  liftDeletionProtection,
  makeNamespace,
  waitReady,
  type E2eCluster,
} from './support.ts';

describe('tables on a real cluster', () => {
  let c: E2eCluster;
  let ns: string;
  const tableName = `e2e-kept-${Date.now()}`;

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-tbl');
  });

  after(async () => {
    await liftDeletionProtection(c, ns, 'kept').catch(() => undefined);
    await deleteNamespace(c, ns);
  });

  test('a protected Table keeps its data and its finalizer when deleted, and goes once protection is lifted', async () => {
    await kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Table',
        metadata: { name: 'kept' },
        spec: {
          tableName,
          attributeDefinitions: [{ attributeName: 'pk', attributeType: 'S' }],
          keySchema: [{ attributeName: 'pk', keyType: 'HASH' }],
          deletionProtectionEnabled: true, // the default too, said here for the reader
        },
      }),
    });
    await waitReady(c, 'table', 'kept', ns, ['TableActive']);
    const db = dynamodbClient(c);
    await db.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'a' }, v: { N: '1' } } }),
    );

    await kubectl(c, ['delete', 'tables.selfless.dev', 'kept', '-n', ns, '--wait=false']);
    await waitReady(c, 'table', 'kept', ns, ['DeletionProtected']);
    const obj = await getJson<{ metadata: { finalizers?: string[]; deletionTimestamp?: string } }>(
      c,
      ['tables.selfless.dev', 'kept', '-n', ns],
    );
    assert.ok(obj.metadata.deletionTimestamp, 'marked for deletion');
    assert.deepEqual(obj.metadata.finalizers, ['selfless.dev/table']);
    const item = await db.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'a' } } }),
    );
    assert.deepEqual(item.Item, { pk: { S: 'a' }, v: { N: '1' } });

    await liftDeletionProtection(c, ns, 'kept');
    await eventually('the resource gone', async () => {
      const left = await kubectl(c, [
        'get',
        'tables.selfless.dev',
        '-n',
        ns,
        '--ignore-not-found',
        '-o',
        'name',
      ]);
      return left.trim() === '' ? true : undefined;
    });
    await eventually('the table gone', async () => {
      const err = await db
        .send(new DescribeTableCommand({ TableName: tableName }))
        .then(() => undefined)
        .catch((e: unknown) => e);
      return err instanceof ResourceNotFoundException ? true : undefined;
    });
  });
});
