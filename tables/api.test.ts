// The DynamoDB API through the real AWS SDK clients against a real server, once per
// storage engine: the same suite must pass on sqlite and on CQL (a real Cassandra).
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  type AttributeValue,
  type QueryCommandOutput,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand as DocQuery,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { engineKinds, rejectsWith, startHarness, type Harness } from '../test/support/tables.ts';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });

for (const kind of engineKinds) {
  describe(`tables API on ${kind}`, () => {
    let h: Harness;
    const raw = (target: string | undefined, body: string) =>
      fetch(h.server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          ...(target ? { 'x-amz-target': target } : {}),
        },
        body,
      });

    before(async () => {
      h = await startHarness(kind);
      const c = h.client;
      await c.send(
        new CreateTableCommand({
          TableName: 'items',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await c.send(
        new CreateTableCommand({
          TableName: 'events',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'n', AttributeType: 'N' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'n', KeyType: 'RANGE' },
          ],
          // Enough for the 1 MB pages below: 5 WCU would be 1,500 units of burst, less than they write.
          ProvisionedThroughput: { ReadCapacityUnits: 50, WriteCapacityUnits: 50 },
        }),
      );
      await c.send(
        new CreateTableCommand({
          TableName: 'names',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'B' },
            { AttributeName: 's', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 's', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    });
    after(async () => {
      await h?.close();
    });

    describe('protocol', () => {
      test('malformed JSON is a 400 SerializationException, not a 500', async () => {
        const res = await raw('DynamoDB_20120810.GetItem', '{"TableName": ');
        assert.equal(res.status, 400);
        const body = (await res.json()) as { __type: string; message: string };
        assert.equal(body.__type, 'com.amazonaws.dynamodb.v20120810#SerializationException');
        assert.equal(typeof body.message, 'string');
      });

      test('an unknown or missing X-Amz-Target is UnknownOperationException', async () => {
        for (const target of ['DynamoDB_20120810.Frobnicate', undefined, 'Other.GetItem']) {
          const res = await raw(target, '{}');
          assert.equal(res.status, 400);
          const body = (await res.json()) as { __type: string };
          assert.equal(body.__type, 'com.amazonaws.dynamodb.v20120810#UnknownOperationException');
        }
      });

      test('wrong JSON types in a field are SerializationException with the Coral message', async () => {
        const res = await raw(
          'DynamoDB_20120810.GetItem',
          JSON.stringify({ TableName: 5, Key: {} }),
        );
        assert.equal(res.status, 400);
        assert.deepEqual(await res.json(), {
          __type: 'com.amazonaws.dynamodb.v20120810#SerializationException',
          message: 'NUMBER_VALUE cannot be converted to String',
        });
      });

      test('every response carries X-Amz-Crc32 of its body', async () => {
        for (const [target, body] of [
          ['DynamoDB_20120810.ListTables', '{}'],
          ['DynamoDB_20120810.GetItem', '{"TableName":"nope-table","Key":{"id":{"S":"x"}}}'],
        ] as const) {
          const res = await raw(target, body);
          const bytes = Buffer.from(await res.arrayBuffer());
          assert.equal(res.headers.get('x-amz-crc32'), String(crc32(bytes)));
          assert.equal(res.headers.get('content-type'), 'application/x-amz-json-1.0');
        }
      });

      test('constraint violations are listed together the way DynamoDB words them', async () => {
        await rejectsWith(
          h.client.send(new GetItemCommand({ TableName: 'ab', Key: { id: S('x') } })),
          'ValidationException',
          "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3",
        );
        await rejectsWith(
          h.client.send(
            new ScanCommand({
              TableName: 'a$',
              Limit: 0,
              ReturnConsumedCapacity: 'ALL' as 'TOTAL',
            }),
          ),
          'ValidationException',
          /^4 validation errors detected: /,
        );
      });
    });

    describe('tables', () => {
      test('CreateTable, DescribeTable, UpdateTable and DeleteTable round trip', async () => {
        const created = await h.client.send(
          new CreateTableCommand({
            TableName: 'lifecycle.t-1',
            AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'N' }],
            KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
            ProvisionedThroughput: { ReadCapacityUnits: 3, WriteCapacityUnits: 4 },
            Tags: [{ Key: 'team', Value: 'core' }],
          }),
        );
        assert.equal(created.TableDescription?.TableStatus, 'ACTIVE');
        assert.match(
          created.TableDescription?.TableArn ?? '',
          /^arn:aws:dynamodb:us-east-1:\d{12}:table\/lifecycle\.t-1$/,
        );
        await rejectsWith(
          h.client.send(
            new CreateTableCommand({
              TableName: 'lifecycle.t-1',
              AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'N' }],
              KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          ),
          'ResourceInUseException',
          'Table already exists: lifecycle.t-1',
        );
        const d = await h.client.send(new DescribeTableCommand({ TableName: 'lifecycle.t-1' }));
        assert.deepEqual(d.Table?.KeySchema, [{ AttributeName: 'k', KeyType: 'HASH' }]);
        assert.equal(d.Table?.ProvisionedThroughput?.ReadCapacityUnits, 3);
        const u = await h.client.send(
          new UpdateTableCommand({ TableName: 'lifecycle.t-1', BillingMode: 'PAY_PER_REQUEST' }),
        );
        assert.equal(u.TableDescription?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
        const u2 = await h.client.send(
          new UpdateTableCommand({
            TableName: 'lifecycle.t-1',
            BillingMode: 'PROVISIONED',
            ProvisionedThroughput: { ReadCapacityUnits: 7, WriteCapacityUnits: 8 },
          }),
        );
        assert.equal(u2.TableDescription?.ProvisionedThroughput?.WriteCapacityUnits, 8);
        await h.client.send(
          new UpdateTableCommand({ TableName: 'lifecycle.t-1', DeletionProtectionEnabled: true }),
        );
        await rejectsWith(
          h.client.send(new DeleteTableCommand({ TableName: 'lifecycle.t-1' })),
          'ValidationException',
          'Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.',
        );
        await h.client.send(
          new UpdateTableCommand({ TableName: 'lifecycle.t-1', DeletionProtectionEnabled: false }),
        );
        const del = await h.client.send(new DeleteTableCommand({ TableName: 'lifecycle.t-1' }));
        assert.equal(del.TableDescription?.TableStatus, 'DELETING');
        await rejectsWith(
          h.client.send(new DescribeTableCommand({ TableName: 'lifecycle.t-1' })),
          'ResourceNotFoundException',
          'Requested resource not found: Table: lifecycle.t-1 not found',
        );
      });

      test('CreateTable refuses key schemas DynamoDB refuses, with its messages', async () => {
        const base = { TableName: 'bad-schema', BillingMode: 'PAY_PER_REQUEST' as const };
        await rejectsWith(
          h.client.send(
            new CreateTableCommand({
              ...base,
              AttributeDefinitions: [{ AttributeName: 'a', AttributeType: 'S' }],
              KeySchema: [{ AttributeName: 'b', KeyType: 'HASH' }],
            }),
          ),
          'ValidationException',
          'One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [b], AttributeDefinitions: [a]',
        );
        await rejectsWith(
          h.client.send(
            new CreateTableCommand({
              ...base,
              AttributeDefinitions: [
                { AttributeName: 'a', AttributeType: 'S' },
                { AttributeName: 'b', AttributeType: 'S' },
              ],
              KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }],
            }),
          ),
          'ValidationException',
          'One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
        );
        await rejectsWith(
          h.client.send(
            new CreateTableCommand({
              TableName: 'bad-schema',
              AttributeDefinitions: [{ AttributeName: 'a', AttributeType: 'S' }],
              KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }],
            }),
          ),
          'ValidationException',
          'One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED',
        );
      });

      test('ListTables pages with Limit and LastEvaluatedTableName', async () => {
        const all = (await h.client.send(new ListTablesCommand({}))).TableNames ?? [];
        assert.deepEqual(all, [...all].sort());
        assert.ok(['events', 'items', 'names'].every((t) => all.includes(t)));
        const seen: string[] = [];
        let start: string | undefined;
        do {
          const page = await h.client.send(
            new ListTablesCommand({ Limit: 1, ExclusiveStartTableName: start }),
          );
          seen.push(...(page.TableNames ?? []));
          start = page.LastEvaluatedTableName;
        } while (start);
        assert.deepEqual(seen, all);
      });

      test('CreateTable with more than 50 tags fails and creates no table', async () => {
        await rejectsWith(
          h.client.send(
            new CreateTableCommand({
              TableName: 'too-many-tags',
              AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
              KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
              BillingMode: 'PAY_PER_REQUEST',
              Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
            }),
          ),
          'ValidationException',
          'One or more parameter values were invalid: Too many tags, the limit is 50',
        );
        await rejectsWith(
          h.client.send(new DescribeTableCommand({ TableName: 'too-many-tags' })),
          'ResourceNotFoundException',
        );
      });

      test('tags are added, listed and removed by table ARN', async () => {
        const arn = (await h.client.send(new DescribeTableCommand({ TableName: 'items' }))).Table!
          .TableArn!;
        await h.client.send(
          new TagResourceCommand({
            ResourceArn: arn,
            Tags: [
              { Key: 'a', Value: '1' },
              { Key: 'b', Value: '2' },
            ],
          }),
        );
        await h.client.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['a'] }));
        const tags = await h.client.send(new ListTagsOfResourceCommand({ ResourceArn: arn }));
        assert.deepEqual(tags.Tags, [{ Key: 'b', Value: '2' }]);
        await rejectsWith(
          h.client.send(
            new ListTagsOfResourceCommand({
              ResourceArn: arn.replace('table/items', 'table/nothere'),
            }),
          ),
          'ResourceNotFoundException',
        );
      });

      test('DescribeTimeToLive says DISABLED: items never expire here', async () => {
        const ttl = await h.client.send(new DescribeTimeToLiveCommand({ TableName: 'items' }));
        assert.deepEqual(ttl.TimeToLiveDescription, { TimeToLiveStatus: 'DISABLED' });
      });

      test('what the service does not offer is refused, never silently ignored', async () => {
        await rejectsWith(
          h.client.send(
            new QueryCommand({
              TableName: 'items',
              IndexName: 'by-b',
              KeyConditionExpression: 'id = :v',
              ExpressionAttributeValues: { ':v': S('x') },
            }),
          ),
          'ValidationException',
          'The table does not have the specified index: by-b',
        );
        const res = await raw('DynamoDB_20120810.CreateBackup', '{}');
        assert.equal(res.status, 400);
        assert.equal(
          ((await res.json()) as { __type: string }).__type,
          'com.amazonaws.dynamodb.v20120810#UnknownOperationException',
        );
      });

      test('item operations on a missing table are ResourceNotFoundException', async () => {
        await rejectsWith(
          h.client.send(new GetItemCommand({ TableName: 'missing', Key: { id: S('x') } })),
          'ResourceNotFoundException',
          'Requested resource not found',
        );
      });
    });

    describe('items', () => {
      test('all ten types round-trip, numbers normalized and exact to 38 digits', async () => {
        const item: Record<string, AttributeValue> = {
          id: S('types'),
          s: S(''),
          n: N('0012.3400'),
          big: N('12345678901234567890123456789012345678'),
          tiny: N('-1E-130'),
          b: { B: Buffer.from([0, 255, 1]) },
          t: { BOOL: true },
          z: { NULL: true },
          l: { L: [S('x'), N('1'), { L: [] }] },
          m: { M: { inner: { M: { deep: S('y') } } } },
          ss: { SS: ['a', 'b'] },
          ns: { NS: ['1', '2.50'] },
          bs: { BS: [Buffer.from('x'), Buffer.from('y')] },
        };
        await h.client.send(new PutItemCommand({ TableName: 'items', Item: item }));
        const got = (
          await h.client.send(new GetItemCommand({ TableName: 'items', Key: { id: S('types') } }))
        ).Item!;
        assert.equal(got.n!.N, '12.34');
        assert.equal(got.big!.N, '12345678901234567890123456789012345678');
        assert.equal(got.tiny!.N, '-0.' + '0'.repeat(129) + '1');
        assert.deepEqual(Buffer.from(got.b!.B!), Buffer.from([0, 255, 1]));
        assert.deepEqual(got.l, item.l);
        assert.deepEqual(got.m, item.m);
        assert.deepEqual(got.ns!.NS!.sort(), ['1', '2.5']);
        assert.equal(got.s!.S, '');
        assert.deepEqual(got.z, { NULL: true });
      });

      test('invalid values get DynamoDB messages and nothing is written', async () => {
        const put = (Item: Record<string, AttributeValue>) =>
          h.client.send(new PutItemCommand({ TableName: 'items', Item }));
        await rejectsWith(
          put({ id: S('bad'), n: N('123456789012345678901234567890123456789') }),
          'ValidationException',
          'Attempting to store more than 38 significant digits in a Number',
        );
        await rejectsWith(
          put({ id: S('bad'), n: N('1E+126') }),
          'ValidationException',
          'Number overflow. Attempting to store a number with magnitude larger than supported range',
        );
        await rejectsWith(
          put({ id: S('bad'), n: N('abc') }),
          'ValidationException',
          'The parameter cannot be converted to a numeric value: abc',
        );
        await rejectsWith(
          put({ id: S('bad'), s: { SS: ['a', 'a'] } }),
          'ValidationException',
          'One or more parameter values were invalid: Input collection [a, a] contains duplicates.',
        );
        await rejectsWith(
          put({ id: S('bad'), s: { SS: [] } }),
          'ValidationException',
          'One or more parameter values were invalid: An string set  may not be empty',
        );
        await rejectsWith(
          put({ id: S('') }),
          'ValidationException',
          'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: id',
        );
        await rejectsWith(
          put({ other: S('x') }),
          'ValidationException',
          'One or more parameter values were invalid: Missing the key id in the item',
        );
        await rejectsWith(
          put({ id: N('1') }),
          'ValidationException',
          'One or more parameter values were invalid: Type mismatch for key id expected: S actual: N',
        );
        await rejectsWith(
          put({ id: S('bad'), big: S('x'.repeat(400 * 1024)) }),
          'ValidationException',
          'Item size has exceeded the maximum allowed size',
        );
        await rejectsWith(
          put({ id: S('x'.repeat(2049)) }),
          'ValidationException',
          'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes',
        );
        let deep: AttributeValue = S('leaf');
        for (let i = 0; i < 33; i++) deep = { L: [deep] };
        await rejectsWith(
          put({ id: S('bad'), deep }),
          'ValidationException',
          /Nesting Levels have exceeded supported limits/,
        );
        await rejectsWith(
          h.client.send(
            new GetItemCommand({ TableName: 'items', Key: { id: S('bad'), extra: S('x') } }),
          ),
          'ValidationException',
          'The provided key element does not match the schema',
        );
        const got = await h.client.send(
          new GetItemCommand({ TableName: 'items', Key: { id: S('bad') } }),
        );
        assert.equal(got.Item, undefined);
      });

      test('a condition that fails is ConditionalCheckFailedException and can return the item', async () => {
        await h.doc.send(new PutCommand({ TableName: 'items', Item: { id: 'cond', v: 1 } }));
        await rejectsWith(
          h.doc.send(
            new PutCommand({
              TableName: 'items',
              Item: { id: 'cond', v: 2 },
              ConditionExpression: 'attribute_not_exists(id)',
            }),
          ),
          'ConditionalCheckFailedException',
          'The conditional request failed',
        );
        await assert.rejects(
          h.client.send(
            new PutItemCommand({
              TableName: 'items',
              Item: { id: S('cond') },
              ConditionExpression: 'v = :two',
              ExpressionAttributeValues: { ':two': N('2') },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
          (err: { Item?: Record<string, AttributeValue> }) => {
            assert.deepEqual(err.Item, { id: S('cond'), v: N('1') });
            return true;
          },
        );
        const old = await h.doc.send(
          new PutCommand({
            TableName: 'items',
            Item: { id: 'cond', v: 3 },
            ConditionExpression: 'v = :one AND attribute_type(v, :n)',
            ExpressionAttributeValues: { ':one': 1, ':n': 'N' },
            ReturnValues: 'ALL_OLD',
          }),
        );
        assert.deepEqual(old.Attributes, { id: 'cond', v: 1 });
      });

      test('ReturnValues and Select combinations DynamoDB refuses are refused', async () => {
        await rejectsWith(
          h.client.send(
            new PutItemCommand({
              TableName: 'items',
              Item: { id: S('rv') },
              ReturnValues: 'ALL_NEW',
            }),
          ),
          'ValidationException',
          'ReturnValues can only be ALL_OLD or NONE',
        );
        await rejectsWith(
          h.client.send(
            new ScanCommand({ TableName: 'items', Select: 'COUNT', ProjectionExpression: 'id' }),
          ),
          'ValidationException',
          'Cannot specify the ProjectionExpression when choosing to get only the COUNT',
        );
        await rejectsWith(
          h.client.send(new ScanCommand({ TableName: 'items', Select: 'SPECIFIC_ATTRIBUTES' })),
          'ValidationException',
          'Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES',
        );
        const none = await h.client.send(
          new UpdateItemCommand({
            TableName: 'items',
            Key: { id: S('rv-new') },
            UpdateExpression: 'SET a = :v',
            ExpressionAttributeValues: { ':v': N('1') },
            ReturnValues: 'ALL_OLD',
          }),
        );
        assert.equal(none.Attributes, undefined);
      });

      test('DeleteItem deletes conditionally and returns the old item', async () => {
        await h.doc.send(new PutCommand({ TableName: 'items', Item: { id: 'del', tag: 'keep' } }));
        await rejectsWith(
          h.doc.send(
            new DeleteItemCommand({
              TableName: 'items',
              Key: { id: S('del') },
              ConditionExpression: 'tag = :t',
              ExpressionAttributeValues: { ':t': S('other') },
            }),
          ),
          'ConditionalCheckFailedException',
        );
        const out = await h.client.send(
          new DeleteItemCommand({
            TableName: 'items',
            Key: { id: S('del') },
            ReturnValues: 'ALL_OLD',
          }),
        );
        assert.deepEqual(out.Attributes, { id: S('del'), tag: S('keep') });
        const got = await h.client.send(
          new GetItemCommand({ TableName: 'items', Key: { id: S('del') } }),
        );
        assert.equal(got.Item, undefined);
      });

      test('ProjectionExpression keeps nested paths and list elements in order', async () => {
        await h.doc.send(
          new PutCommand({
            TableName: 'items',
            Item: { id: 'proj', a: { b: 1, c: 2 }, list: ['x', 'y', 'z'], other: true },
          }),
        );
        const got = await h.doc.send(
          new GetCommand({
            TableName: 'items',
            Key: { id: 'proj' },
            ProjectionExpression: 'a.c, #l[2], #l[0]',
            ExpressionAttributeNames: { '#l': 'list' },
          }),
        );
        assert.deepEqual(got.Item, { a: { c: 2 }, list: ['x', 'z'] });
      });
    });

    describe('update expressions', () => {
      test('SET arithmetic, if_not_exists, list_append, nested paths, REMOVE, ADD and DELETE', async () => {
        await h.doc.send(
          new PutCommand({
            TableName: 'items',
            Item: {
              id: 'upd',
              n: 10,
              list: [1, 2, 3],
              prev: [7, 8, 9],
              m: { x: 1 },
              tags: new Set(['a', 'b']),
              flags: new Set(['a', 'b']),
              gone: 1,
            },
          }),
        );
        const out = await h.doc.send(
          new UpdateCommand({
            TableName: 'items',
            Key: { id: 'upd' },
            UpdateExpression:
              'SET n = n + :d, fresh = if_not_exists(fresh, :zero) - :d, #l = list_append(#l, :more), m.y = :d, m.x = m.x + n ' +
              'REMOVE gone, prev[0] ADD cnt :d, tags :newtags DELETE flags :oldtags',
            ExpressionAttributeNames: { '#l': 'list' },
            ExpressionAttributeValues: {
              ':d': 5,
              ':zero': 0,
              ':more': [4],
              ':newtags': new Set(['c']),
              ':oldtags': new Set(['a']),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        assert.deepEqual(out.Attributes, {
          id: 'upd',
          n: 15,
          fresh: -5,
          list: [1, 2, 3, 4],
          prev: [8, 9],
          m: { x: 11, y: 5 },
          cnt: 5,
          tags: new Set(['a', 'b', 'c']),
          flags: new Set(['b']),
        });
      });

      test('numbers add exactly as decimals, never as floats', async () => {
        await h.client.send(
          new UpdateItemCommand({
            TableName: 'items',
            Key: { id: S('dec') },
            UpdateExpression: 'SET v = :a + :b, w = :c - :d',
            ExpressionAttributeValues: {
              ':a': N('0.1'),
              ':b': N('0.2'),
              ':c': N('10000000000000000000000000000000000001'),
              ':d': N('1'),
            },
          }),
        );
        const got = await h.client.send(
          new GetItemCommand({ TableName: 'items', Key: { id: S('dec') } }),
        );
        assert.equal(got.Item!.v!.N, '0.3');
        assert.equal(got.Item!.w!.N, '10000000000000000000000000000000000000');
      });

      test('UPDATED_OLD and UPDATED_NEW return only the written attributes', async () => {
        await h.doc.send(new PutCommand({ TableName: 'items', Item: { id: 'rv', a: 1, b: 2 } }));
        const old = await h.doc.send(
          new UpdateCommand({
            TableName: 'items',
            Key: { id: 'rv' },
            UpdateExpression: 'SET a = :v',
            ExpressionAttributeValues: { ':v': 9 },
            ReturnValues: 'UPDATED_OLD',
          }),
        );
        assert.deepEqual(old.Attributes, { a: 1 });
        const next = await h.doc.send(
          new UpdateCommand({
            TableName: 'items',
            Key: { id: 'rv' },
            UpdateExpression: 'SET c = :v',
            ExpressionAttributeValues: { ':v': 3 },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        assert.deepEqual(next.Attributes, { c: 3 });
      });

      test('expression errors use DynamoDB wording', async () => {
        const update = (input: Partial<ConstructorParameters<typeof UpdateItemCommand>[0]>) =>
          h.client.send(
            new UpdateItemCommand({ TableName: 'items', Key: { id: S('experr') }, ...input }),
          );
        await rejectsWith(
          update({
            UpdateExpression: 'SET a = :v',
            ExpressionAttributeValues: { ':v': N('1'), ':w': N('2') },
          }),
          'ValidationException',
          'Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}',
        );
        await rejectsWith(
          update({ UpdateExpression: 'SET #a = :v', ExpressionAttributeValues: { ':v': N('1') } }),
          'ValidationException',
          'Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #a',
        );
        await rejectsWith(
          update({ UpdateExpression: 'SET a = :v' }),
          'ValidationException',
          'Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :v',
        );
        await rejectsWith(
          update({
            UpdateExpression: 'SET name = :v',
            ExpressionAttributeValues: { ':v': N('1') },
          }),
          'ValidationException',
          'Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name',
        );
        await rejectsWith(
          update({ UpdateExpression: 'SET a = ', ExpressionAttributeValues: { ':v': N('1') } }),
          'ValidationException',
          'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "= "',
        );
        await rejectsWith(
          update({
            UpdateExpression: 'SET a = :v, a.b = :v',
            ExpressionAttributeValues: { ':v': N('1') },
          }),
          'ValidationException',
          'Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]',
        );
        await rejectsWith(
          update({
            UpdateExpression: 'SET a = :v SET b = :v',
            ExpressionAttributeValues: { ':v': N('1') },
          }),
          'ValidationException',
          'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;',
        );
        await rejectsWith(
          update({ UpdateExpression: 'SET id = :v', ExpressionAttributeValues: { ':v': S('x') } }),
          'ValidationException',
          'Cannot update attribute id. This attribute is part of the key',
        );
        await rejectsWith(
          update({ UpdateExpression: 'ADD a :v', ExpressionAttributeValues: { ':v': S('x') } }),
          'ValidationException',
          'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING',
        );
        await rejectsWith(
          update({
            UpdateExpression: 'SET a = b + :v',
            ExpressionAttributeValues: { ':v': N('1') },
          }),
          'ValidationException',
          'The provided expression refers to an attribute that does not exist in the item',
        );
        await rejectsWith(
          update({
            UpdateExpression: 'SET a = :v',
            ConditionExpression: 'foo(a)',
            ExpressionAttributeValues: { ':v': N('1') },
          }),
          'ValidationException',
          'Invalid ConditionExpression: Invalid function name; function: foo',
        );
        await rejectsWith(
          update({
            UpdateExpression: 'SET a = :v',
            ConditionExpression: 'begins_with(a)',
            ExpressionAttributeValues: { ':v': N('1') },
          }),
          'ValidationException',
          'Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1',
        );
        await rejectsWith(
          update({
            UpdateExpression: 'SET a = :v',
            Expected: { a: { Exists: false } },
            ExpressionAttributeValues: { ':v': N('1') },
          }),
          'ValidationException',
          'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {UpdateExpression}',
        );
      });

      test('conditions cover every comparator and function', async () => {
        await h.doc.send(
          new PutCommand({
            TableName: 'items',
            Item: { id: 'cmp', n: 5, s: 'hello', l: ['a', 1], st: new Set(['x']), m: { k: 'v' } },
          }),
        );
        const holds = async (expr: string, values: Record<string, unknown> = {}) => {
          try {
            await h.doc.send(
              new UpdateCommand({
                TableName: 'items',
                Key: { id: 'cmp' },
                UpdateExpression: 'SET touched = :t',
                ConditionExpression: expr,
                ExpressionAttributeValues: { ':t': true, ...values },
              }),
            );
            return true;
          } catch (err) {
            if ((err as Error).name === 'ConditionalCheckFailedException') return false;
            throw err;
          }
        };
        assert.equal(await holds('n = :v', { ':v': 5 }), true);
        assert.equal(await holds('n <> :v', { ':v': 5 }), false);
        assert.equal(await holds('absent <> :v', { ':v': 5 }), true);
        assert.equal(await holds('n < :v AND n <= :w', { ':v': 6, ':w': 5 }), true);
        assert.equal(await holds('n > :v OR n >= :w', { ':v': 5, ':w': 6 }), false);
        assert.equal(await holds('n BETWEEN :a AND :b', { ':a': 1, ':b': 5 }), true);
        assert.equal(await holds('n IN (:a, :b)', { ':a': 1, ':b': 2 }), false);
        assert.equal(await holds('NOT n IN (:a, :b)', { ':a': 1, ':b': 2 }), true);
        assert.equal(await holds('begins_with(s, :p)', { ':p': 'hel' }), true);
        assert.equal(await holds('contains(s, :p)', { ':p': 'ell' }), true);
        assert.equal(
          await holds('contains(st, :p) AND contains(l, :q)', { ':p': 'x', ':q': 1 }),
          true,
        );
        assert.equal(await holds('size(s) = :n AND size(l) = :two', { ':n': 5, ':two': 2 }), true);
        assert.equal(await holds('attribute_exists(m.k) AND attribute_not_exists(m.z)'), true);
        assert.equal(await holds('attribute_type(l, :t2)', { ':t2': 'L' }), true);
        assert.equal(
          await holds('(n = :a OR n = :b) AND s = :s', { ':a': 1, ':b': 5, ':s': 'hello' }),
          true,
        );
        assert.equal(await holds('s < :num', { ':num': 5 }), false);
      });
    });

    describe('query and scan', () => {
      before(async () => {
        const numbers = ['-10', '-2.5', '-1', '0', '0.001', '1', '2', '10', '100', '1E+20'];
        for (const n of numbers) {
          await h.client.send(
            new PutItemCommand({
              TableName: 'events',
              Item: {
                pk: S('q'),
                n: N(n),
                odd: { BOOL: n.length % 2 === 1 } /* odd-length text */,
              },
            }),
          );
        }
        for (let i = 0; i < 30; i++) {
          await h.client.send(
            new PutItemCommand({ TableName: 'events', Item: { pk: S(`p${i}`), n: N('1') } }),
          );
        }
      });

      test('range keys sort numerically, forward and backward', async () => {
        const q = await h.client.send(
          new QueryCommand({
            TableName: 'events',
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': S('q') },
          }),
        );
        assert.deepEqual(
          q.Items!.map((i) => i.n!.N),
          ['-10', '-2.5', '-1', '0', '0.001', '1', '2', '10', '100', '100000000000000000000'],
        );
        const back = await h.client.send(
          new QueryCommand({
            TableName: 'events',
            KeyConditionExpression: 'pk = :p AND n BETWEEN :a AND :b',
            ExpressionAttributeValues: { ':p': S('q'), ':a': N('-2.5'), ':b': N('1') },
            ScanIndexForward: false,
          }),
        );
        assert.deepEqual(
          back.Items!.map((i) => i.n!.N),
          ['1', '0.001', '0', '-1', '-2.5'],
        );
      });

      test('string range keys sort by UTF-8 bytes, not UTF-16 code units', async () => {
        const pk = { B: Buffer.from('utf8') };
        const strings = ['\uff61', '\u{1f600}', 'a', 'Z', 'ab', 'b'];
        for (const s of strings) {
          await h.client.send(new PutItemCommand({ TableName: 'names', Item: { pk, s: S(s) } }));
        }
        const q = await h.client.send(
          new QueryCommand({
            TableName: 'names',
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': pk },
          }),
        );
        const expected = [...strings].sort((a, b) =>
          Buffer.compare(Buffer.from(a), Buffer.from(b)),
        );
        assert.deepEqual(
          q.Items!.map((i) => i.s!.S),
          expected,
        );
        assert.notDeepEqual(expected, [...strings].sort());
        const prefixed = await h.client.send(
          new QueryCommand({
            TableName: 'names',
            KeyConditionExpression: 'pk = :p AND begins_with(s, :a)',
            ExpressionAttributeValues: { ':p': pk, ':a': S('a') },
          }),
        );
        assert.deepEqual(
          prefixed.Items!.map((i) => i.s!.S),
          ['a', 'ab'],
        );
      });

      test('Limit pages with LastEvaluatedKey; the filter runs after the limit', async () => {
        const seen: string[] = [];
        let start: Record<string, AttributeValue> | undefined;
        let pages = 0;
        do {
          const page = await h.client.send(
            new QueryCommand({
              TableName: 'events',
              KeyConditionExpression: 'pk = :p AND n > :z',
              FilterExpression: 'odd = :t',
              ExpressionAttributeValues: { ':p': S('q'), ':z': N('-5'), ':t': { BOOL: true } },
              Limit: 3,
              ExclusiveStartKey: start,
            }),
          );
          assert.ok((page.ScannedCount ?? 0) <= 3);
          seen.push(...page.Items!.map((i) => i.n!.N!));
          start = page.LastEvaluatedKey;
          pages++;
        } while (start);
        assert.deepEqual(seen, ['0', '0.001', '1', '2', '100', '100000000000000000000']);
        assert.ok(pages >= 3);
        const count = await h.doc.send(
          new DocQuery({
            TableName: 'events',
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': 'q' },
            Select: 'COUNT',
          }),
        );
        assert.equal(count.Count, 10);
        assert.equal(count.Items, undefined);
      });

      test('key condition errors use DynamoDB wording', async () => {
        const q = (KeyConditionExpression: string, values: Record<string, AttributeValue>) =>
          h.client.send(
            new QueryCommand({
              TableName: 'events',
              KeyConditionExpression,
              ExpressionAttributeValues: values,
            }),
          );
        await rejectsWith(
          q('pk = :p OR n = :n', { ':p': S('q'), ':n': N('1') }),
          'ValidationException',
          'Invalid operator used in KeyConditionExpression: OR',
        );
        await rejectsWith(
          q('n = :n', { ':n': N('1') }),
          'ValidationException',
          'Query condition missed key schema element: pk',
        );
        await rejectsWith(
          q('pk = :p', { ':p': N('1') }),
          'ValidationException',
          'One or more parameter values were invalid: Condition parameter type does not match schema type',
        );
        await rejectsWith(
          q('pk = :p AND pk = :p', { ':p': S('q') }),
          'ValidationException',
          'KeyConditionExpressions must only contain one condition per key',
        );
      });

      test('parallel Scan segments are disjoint and cover the table', async () => {
        const all = await h.client.send(new ScanCommand({ TableName: 'events' }));
        assert.equal(all.Count, 40);
        const keys = new Set<string>();
        let total = 0;
        for (let segment = 0; segment < 4; segment++) {
          let start: Record<string, AttributeValue> | undefined;
          do {
            const page = await h.client.send(
              new ScanCommand({
                TableName: 'events',
                Segment: segment,
                TotalSegments: 4,
                Limit: 4,
                ExclusiveStartKey: start,
              }),
            );
            for (const i of page.Items!) keys.add(`${i.pk!.S}/${i.n!.N}`);
            total += page.Count!;
            start = page.LastEvaluatedKey;
          } while (start);
        }
        assert.equal(total, 40);
        assert.equal(keys.size, 40);
        await rejectsWith(
          h.client.send(new ScanCommand({ TableName: 'events', Segment: 4, TotalSegments: 4 })),
          'ValidationException',
          'The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 4 is not less than TotalSegments: 4',
        );
      });

      test('a page stops after 1 MB and says where to resume', async () => {
        const blob = 'x'.repeat(300 * 1024);
        for (let i = 0; i < 5; i++) {
          await h.client.send(
            new PutItemCommand({
              TableName: 'events',
              Item: { pk: S('big'), n: N(String(i)), blob: S(blob) },
            }),
          );
        }
        const first = await h.client.send(
          new QueryCommand({
            TableName: 'events',
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': S('big') },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        assert.equal(first.Count, 4);
        assert.deepEqual(first.LastEvaluatedKey, { pk: S('big'), n: N('3') });
        // 4 items of ~300 KB read eventually consistent: ceil(1.2 MB / 4 KB) / 2.
        const bytes = 4 * (300 * 1024 + 'pk'.length + 3 + 'n'.length + 2 + 'blob'.length);
        assert.equal(first.ConsumedCapacity?.CapacityUnits, Math.ceil(bytes / 4096) / 2);
        const rest = await h.client.send(
          new QueryCommand({
            TableName: 'events',
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': S('big') },
            ExclusiveStartKey: first.LastEvaluatedKey,
          }),
        );
        assert.equal(rest.Count, 1);
        assert.equal(rest.LastEvaluatedKey, undefined);
      });
    });

    describe('global secondary indexes', () => {
      const order = (id: string, extra: Record<string, AttributeValue>) => ({
        id: S(id),
        note: S(`note-${id}`),
        secret: S(`secret-${id}`),
        ...extra,
      });
      const ids = (items: Record<string, AttributeValue>[] | undefined) =>
        (items ?? []).map((i) => i.id!.S!);
      const byStatus = (status: string, extra: Record<string, unknown> = {}) =>
        h.client.send(
          new QueryCommand({
            TableName: 'orders',
            IndexName: 'by-status',
            KeyConditionExpression: '#s = :s',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':s': S(status) },
            ...extra,
          }),
        );

      before(async () => {
        await h.client.send(
          new CreateTableCommand({
            TableName: 'orders',
            AttributeDefinitions: [
              { AttributeName: 'id', AttributeType: 'S' },
              { AttributeName: 'status', AttributeType: 'S' },
              { AttributeName: 'total', AttributeType: 'N' },
              { AttributeName: 'customer', AttributeType: 'S' },
            ],
            KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
            GlobalSecondaryIndexes: [
              {
                IndexName: 'by-status',
                KeySchema: [
                  { AttributeName: 'status', KeyType: 'HASH' },
                  { AttributeName: 'total', KeyType: 'RANGE' },
                ],
                Projection: { ProjectionType: 'ALL' },
              },
              {
                IndexName: 'by-customer',
                KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }],
                Projection: { ProjectionType: 'KEYS_ONLY' },
              },
              {
                IndexName: 'by-status-note',
                KeySchema: [
                  { AttributeName: 'status', KeyType: 'HASH' },
                  { AttributeName: 'total', KeyType: 'RANGE' },
                ],
                Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['note'] },
              },
            ],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        const puts: [string, Record<string, AttributeValue>][] = [
          ['o1', { status: S('open'), total: N('30'), customer: S('ann') }],
          ['o2', { status: S('open'), total: N('-5'), customer: S('bob') }],
          ['o3', { status: S('open'), total: N('100.5'), customer: S('ann') }],
          ['o4', { status: S('shipped'), total: N('30'), customer: S('ann') }],
          // Sparse: an item without status is not in by-status.
          ['o5', { total: N('1'), customer: S('cid') }],
        ];
        for (const [id, extra] of puts) {
          await h.client.send(new PutItemCommand({ TableName: 'orders', Item: order(id, extra) }));
        }
      });

      test('CreateTable and DescribeTable list the indexes as ACTIVE with their ARNs', async () => {
        const { Table } = await h.client.send(new DescribeTableCommand({ TableName: 'orders' }));
        const gsis = Table!.GlobalSecondaryIndexes!;
        assert.deepEqual(
          gsis.map((g) => g.IndexName),
          ['by-status', 'by-customer', 'by-status-note'],
        );
        const g = gsis[0]!;
        assert.equal(g.IndexStatus, 'ACTIVE');
        assert.deepEqual(g.KeySchema, [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'total', KeyType: 'RANGE' },
        ]);
        assert.deepEqual(g.Projection, { ProjectionType: 'ALL' });
        assert.match(g.IndexArn!, /:table\/orders\/index\/by-status$/);
        // Exact where the engine counts cheaply (sqlite), 0 otherwise, as for tables.
        assert.equal(g.ItemCount, kind === 'sqlite' ? 4 : 0);
        assert.equal(g.IndexSizeBytes! > 0, kind === 'sqlite');
        assert.deepEqual(gsis[2]!.Projection, {
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: ['note'],
        });
      });

      test('Query on a hash+range index returns whole items in numeric index order', async () => {
        const all = await byStatus('open');
        assert.deepEqual(ids(all.Items), ['o2', 'o1', 'o3']);
        assert.deepEqual(
          all.Items![0],
          order('o2', {
            status: S('open'),
            total: N('-5'),
            customer: S('bob'),
          }),
        );
        const back = await byStatus('open', { ScanIndexForward: false });
        assert.deepEqual(ids(back.Items), ['o3', 'o1', 'o2']);
        const ranged = await byStatus('open', {
          KeyConditionExpression: '#s = :s AND #t BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#s': 'status', '#t': 'total' },
          ExpressionAttributeValues: { ':s': S('open'), ':lo': N('0'), ':hi': N('30') },
        });
        assert.deepEqual(ids(ranged.Items), ['o1']);
        const above = await byStatus('open', {
          KeyConditionExpression: '#s = :s AND #t > :lo',
          ExpressionAttributeNames: { '#s': 'status', '#t': 'total' },
          ExpressionAttributeValues: { ':s': S('open'), ':lo': N('30') },
        });
        assert.deepEqual(ids(above.Items), ['o3']);
        const atMost = await byStatus('open', {
          KeyConditionExpression: '#s = :s AND #t <= :hi',
          ExpressionAttributeNames: { '#s': 'status', '#t': 'total' },
          ExpressionAttributeValues: { ':s': S('open'), ':hi': N('30') },
        });
        assert.deepEqual(ids(atMost.Items), ['o2', 'o1']);
      });

      test('items without the index keys are not in the index', async () => {
        const scan = await h.client.send(
          new ScanCommand({ TableName: 'orders', IndexName: 'by-status' }),
        );
        assert.deepEqual(ids(scan.Items).sort(), ['o1', 'o2', 'o3', 'o4']);
        const seven = await h.client.send(
          new ScanCommand({ TableName: 'orders', IndexName: 'by-customer' }),
        );
        assert.deepEqual(ids(seven.Items).sort(), ['o1', 'o2', 'o3', 'o4', 'o5']);
      });

      test('KEYS_ONLY returns table and index keys; INCLUDE adds the listed attributes', async () => {
        const keysOnly = await h.client.send(
          new QueryCommand({
            TableName: 'orders',
            IndexName: 'by-customer',
            KeyConditionExpression: 'customer = :c',
            ExpressionAttributeValues: { ':c': S('bob') },
          }),
        );
        assert.deepEqual(keysOnly.Items, [{ id: S('o2'), customer: S('bob') }]);
        const included = await h.client.send(
          new QueryCommand({
            TableName: 'orders',
            IndexName: 'by-status-note',
            KeyConditionExpression: '#s = :s',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':s': S('shipped') },
          }),
        );
        assert.deepEqual(included.Items, [
          { id: S('o4'), status: S('shipped'), total: N('30'), note: S('note-o4') },
        ]);
      });

      test('PutItem, UpdateItem, DeleteItem and BatchWriteItem keep the index current', async () => {
        const t = 'orders';
        await h.client.send(
          new PutItemCommand({
            TableName: t,
            Item: order('w1', { status: S('new'), total: N('1'), customer: S('wes') }),
          }),
        );
        assert.deepEqual(ids((await byStatus('new')).Items), ['w1']);
        await h.client.send(
          new UpdateItemCommand({
            TableName: t,
            Key: { id: S('w1') },
            UpdateExpression: 'SET #s = :s',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':s': S('paid') },
          }),
        );
        assert.deepEqual(ids((await byStatus('new')).Items), []);
        assert.deepEqual(ids((await byStatus('paid')).Items), ['w1']);
        await h.client.send(
          new UpdateItemCommand({
            TableName: t,
            Key: { id: S('w1') },
            UpdateExpression: 'REMOVE #s',
            ExpressionAttributeNames: { '#s': 'status' },
          }),
        );
        assert.deepEqual(ids((await byStatus('paid')).Items), []);
        await h.client.send(
          new BatchWriteItemCommand({
            RequestItems: {
              [t]: [
                { PutRequest: { Item: order('w2', { status: S('paid'), total: N('2') }) } },
                { PutRequest: { Item: order('w3', { status: S('paid'), total: N('3') }) } },
              ],
            },
          }),
        );
        assert.deepEqual(ids((await byStatus('paid')).Items), ['w2', 'w3']);
        await h.client.send(new DeleteItemCommand({ TableName: t, Key: { id: S('w2') } }));
        await h.client.send(
          new BatchWriteItemCommand({
            RequestItems: { [t]: [{ DeleteRequest: { Key: { id: S('w3') } } }] },
          }),
        );
        assert.deepEqual(ids((await byStatus('paid')).Items), []);
        const customers = await h.client.send(
          new QueryCommand({
            TableName: t,
            IndexName: 'by-customer',
            KeyConditionExpression: 'customer = :c',
            ExpressionAttributeValues: { ':c': S('wes') },
          }),
        );
        assert.deepEqual(ids(customers.Items), ['w1']);
      });

      test('Query and Scan page through an index with LastEvaluatedKey = index + table keys', async () => {
        const writes = Array.from({ length: 7 }, (_, i) => ({
          PutRequest: {
            Item: order(`p${i}`, {
              status: S('bulk'),
              total: N(String(i % 3)),
              customer: S('many'),
            }),
          },
        }));
        await h.client.send(new BatchWriteItemCommand({ RequestItems: { orders: writes } }));
        const seen: string[] = [];
        let start: Record<string, AttributeValue> | undefined;
        let pages = 0;
        do {
          const page = await byStatus('bulk', { Limit: 2, ExclusiveStartKey: start });
          seen.push(...ids(page.Items));
          start = page.LastEvaluatedKey;
          if (start) assert.deepEqual(Object.keys(start).sort(), ['id', 'status', 'total']);
          pages++;
        } while (start);
        assert.equal(pages, 4);
        assert.deepEqual(seen.sort(), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
        const totals = (await byStatus('bulk')).Items!.map((i) => i.total!.N);
        assert.deepEqual(totals, ['0', '0', '0', '1', '1', '2', '2']);

        // A hash-only index: seven items share one index key.
        const viaCustomer: string[] = [];
        start = undefined;
        do {
          const page: QueryCommandOutput = await h.client.send(
            new QueryCommand({
              TableName: 'orders',
              IndexName: 'by-customer',
              KeyConditionExpression: 'customer = :c',
              ExpressionAttributeValues: { ':c': S('many') },
              Limit: 3,
              ExclusiveStartKey: start,
            }),
          );
          viaCustomer.push(...ids(page.Items));
          start = page.LastEvaluatedKey;
        } while (start);
        assert.deepEqual(viaCustomer.sort(), ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);

        const scanned: string[] = [];
        start = undefined;
        do {
          const page: ScanCommandOutput = await h.client.send(
            new ScanCommand({
              TableName: 'orders',
              IndexName: 'by-status',
              Limit: 2,
              ExclusiveStartKey: start,
            }),
          );
          scanned.push(...ids(page.Items));
          start = page.LastEvaluatedKey;
        } while (start);
        const full = await h.client.send(
          new ScanCommand({ TableName: 'orders', IndexName: 'by-status' }),
        );
        assert.deepEqual(scanned, ids(full.Items));
        assert.ok(scanned.includes('p6') && !scanned.includes('o5'));
      });

      test('index read errors: unknown index, consistent read, bad start key', async () => {
        await rejectsWith(
          byStatus('open', { IndexName: 'nope' }),
          'ValidationException',
          'The table does not have the specified index: nope',
        );
        await rejectsWith(
          byStatus('open', { ConsistentRead: true }),
          'ValidationException',
          'Consistent reads are not supported on global secondary indexes',
        );
        await rejectsWith(
          h.client.send(
            new ScanCommand({ TableName: 'orders', IndexName: 'by-status', ConsistentRead: true }),
          ),
          'ValidationException',
          'Consistent reads are not supported on global secondary indexes',
        );
        await rejectsWith(
          byStatus('open', { ExclusiveStartKey: { id: S('o1') } }),
          'ValidationException',
          'The provided starting key is invalid: The provided key element does not match the schema',
        );
        await rejectsWith(
          byStatus('open', {
            KeyConditionExpression: 'id = :s',
            ExpressionAttributeNames: undefined,
          }),
          'ValidationException',
          'Query condition missed key schema element: status',
        );
      });

      test('bad index definitions get DynamoDB validation messages', async () => {
        const create = (gsis: unknown[], extra: Record<string, unknown> = {}) =>
          h.client.send(
            new CreateTableCommand({
              TableName: 'bad-index',
              AttributeDefinitions: [
                { AttributeName: 'a', AttributeType: 'S' },
                { AttributeName: 'b', AttributeType: 'S' },
              ],
              KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }],
              BillingMode: 'PAY_PER_REQUEST',
              GlobalSecondaryIndexes: gsis as never,
              ...extra,
            }),
          );
        const gsi = (name: string, extra: Record<string, unknown> = {}) => ({
          IndexName: name,
          KeySchema: [{ AttributeName: 'b', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
          ...extra,
        });
        const invalid = 'One or more parameter values were invalid: ';
        await rejectsWith(
          create([gsi('ab')]),
          'ValidationException',
          /Value 'ab' at 'globalSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3/,
        );
        await rejectsWith(
          create([]),
          'ValidationException',
          `${invalid}List of GlobalSecondaryIndexes is empty`,
        );
        await rejectsWith(
          create([gsi('by-c', { KeySchema: [{ AttributeName: 'c', KeyType: 'HASH' }] })]),
          'ValidationException',
          `${invalid}Some index key attributes are not defined in AttributeDefinitions. Keys: [c], AttributeDefinitions: [a, b]`,
        );
        await rejectsWith(
          create([gsi('by-b'), gsi('by-b')]),
          'ValidationException',
          `${invalid}Duplicate index name: by-b`,
        );
        await rejectsWith(
          create(Array.from({ length: 21 }, (_, i) => gsi(`by-b${i}`))),
          'ValidationException',
          `${invalid}GlobalSecondaryIndex count exceeds the per-table limit of 20`,
        );
        await rejectsWith(
          create([gsi('by-b', { Projection: { ProjectionType: 'INCLUDE' } })]),
          'ValidationException',
          `${invalid}ProjectionType is INCLUDE, but NonKeyAttributes is not specified`,
        );
        await rejectsWith(
          create([gsi('by-b')], {
            BillingMode: 'PROVISIONED',
            ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
          }),
          'ValidationException',
          `${invalid}ProvisionedThroughput must be specified for index: by-b`,
        );
        await rejectsWith(
          create([
            gsi('by-b', { ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } }),
          ]),
          'ValidationException',
          `${invalid}ProvisionedThroughput should not be specified for index: by-b when BillingMode is PAY_PER_REQUEST`,
        );
        await h.client.send(
          new CreateTableCommand({
            TableName: 'provisioned-index',
            AttributeDefinitions: [
              { AttributeName: 'a', AttributeType: 'S' },
              { AttributeName: 'b', AttributeType: 'S' },
            ],
            KeySchema: [{ AttributeName: 'a', KeyType: 'HASH' }],
            ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
            GlobalSecondaryIndexes: [
              gsi('by-b', {
                ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 3 },
              }),
            ] as never,
          }),
        );
        const d = await h.client.send(new DescribeTableCommand({ TableName: 'provisioned-index' }));
        assert.equal(
          d.Table!.GlobalSecondaryIndexes![0]!.ProvisionedThroughput!.WriteCapacityUnits,
          3,
        );
        await h.client.send(new DeleteTableCommand({ TableName: 'provisioned-index' }));
      });
    });

    describe('batches', () => {
      test('BatchWriteItem then BatchGetItem across tables', async () => {
        const w = await h.client.send(
          new BatchWriteItemCommand({
            RequestItems: {
              items: Array.from({ length: 20 }, (_, i) => ({
                PutRequest: { Item: { id: S(`batch${i}`), i: N(String(i)) } },
              })),
              events: [
                { PutRequest: { Item: { pk: S('batch'), n: N('1') } } },
                { DeleteRequest: { Key: { pk: S('batch'), n: N('2') } } },
              ],
            },
          }),
        );
        assert.deepEqual(w.UnprocessedItems, {});
        const g = await h.client.send(
          new BatchGetItemCommand({
            RequestItems: {
              items: {
                Keys: [{ id: S('batch3') }, { id: S('batch7') }, { id: S('nope') }],
                ProjectionExpression: 'i',
              },
              events: { Keys: [{ pk: S('batch'), n: N('1') }], ConsistentRead: true },
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        assert.deepEqual(g.Responses!.items!.map((i) => i.i!.N).sort(), ['3', '7']);
        assert.equal(g.Responses!.events!.length, 1);
        assert.deepEqual(g.UnprocessedKeys, {});
        const cap = Object.fromEntries(
          g.ConsumedCapacity!.map((c) => [c.TableName, c.CapacityUnits]),
        );
        assert.deepEqual(cap, { items: 1.5, events: 1 });
      });

      test('a batch that fails validation writes nothing', async () => {
        await rejectsWith(
          h.client.send(
            new BatchWriteItemCommand({
              RequestItems: {
                items: [
                  { PutRequest: { Item: { id: S('atomic-ok') } } },
                  { PutRequest: { Item: { id: N('1') } } },
                ],
              },
            }),
          ),
          'ValidationException',
          'One or more parameter values were invalid: Type mismatch for key id expected: S actual: N',
        );
        await rejectsWith(
          h.client.send(
            new BatchWriteItemCommand({
              RequestItems: {
                items: Array.from({ length: 26 }, (_, i) => ({
                  PutRequest: { Item: { id: S(`too-many${i}`) } },
                })),
              },
            }),
          ),
          'ValidationException',
          /Member must have length less than or equal to 25/,
        );
        await rejectsWith(
          h.client.send(
            new BatchWriteItemCommand({
              RequestItems: {
                items: [
                  { PutRequest: { Item: { id: S('atomic-ok') } } },
                  { DeleteRequest: { Key: { id: S('atomic-ok') } } },
                ],
              },
            }),
          ),
          'ValidationException',
          'Provided list of item keys contains duplicates',
        );
        const got = await h.client.send(
          new GetItemCommand({ TableName: 'items', Key: { id: S('atomic-ok') } }),
        );
        assert.equal(got.Item, undefined);
        await rejectsWith(
          h.client.send(
            new BatchGetItemCommand({
              RequestItems: {
                items: { Keys: Array.from({ length: 101 }, (_, i) => ({ id: S(`k${i}`) })) },
              },
            }),
          ),
          'ValidationException',
          /Member must have length less than or equal to 100/,
        );
      });
    });

    describe('legacy parameters', () => {
      test('Expected, AttributeUpdates, KeyConditions, QueryFilter, ScanFilter and AttributesToGet', async () => {
        await h.client.send(
          new PutItemCommand({
            TableName: 'items',
            Item: { id: S('legacy'), a: N('1') },
            Expected: { id: { Exists: false } },
          }),
        );
        await rejectsWith(
          h.client.send(
            new PutItemCommand({
              TableName: 'items',
              Item: { id: S('legacy') },
              Expected: { a: { Value: N('2') } },
            }),
          ),
          'ConditionalCheckFailedException',
        );
        const u = await h.client.send(
          new UpdateItemCommand({
            TableName: 'items',
            Key: { id: S('legacy') },
            AttributeUpdates: {
              a: { Action: 'ADD', Value: N('2') },
              l: { Action: 'ADD', Value: { L: [S('x')] } },
              b: { Action: 'PUT', Value: S('bee') },
            },
            Expected: {
              a: { ComparisonOperator: 'BETWEEN', AttributeValueList: [N('0'), N('1')] },
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        assert.deepEqual(u.Attributes, {
          id: S('legacy'),
          a: N('3'),
          l: { L: [S('x')] },
          b: S('bee'),
        });
        const got = await h.client.send(
          new GetItemCommand({
            TableName: 'items',
            Key: { id: S('legacy') },
            AttributesToGet: ['b'],
          }),
        );
        assert.deepEqual(got.Item, { b: S('bee') });
        const q = await h.client.send(
          new QueryCommand({
            TableName: 'events',
            KeyConditions: {
              pk: { ComparisonOperator: 'EQ', AttributeValueList: [S('q')] },
              n: { ComparisonOperator: 'GE', AttributeValueList: [N('0')] },
            },
            QueryFilter: {
              odd: { ComparisonOperator: 'EQ', AttributeValueList: [{ BOOL: true }] },
            },
          }),
        );
        assert.deepEqual(
          q.Items!.map((i) => i.n!.N),
          ['0', '0.001', '1', '2', '100', '100000000000000000000'],
        );
        const s = await h.client.send(
          new ScanCommand({
            TableName: 'items',
            ScanFilter: { b: { ComparisonOperator: 'BEGINS_WITH', AttributeValueList: [S('be')] } },
          }),
        );
        assert.deepEqual(
          s.Items!.map((i) => i.id!.S),
          ['legacy'],
        );
        await rejectsWith(
          h.client.send(
            new QueryCommand({
              TableName: 'events',
              KeyConditions: { pk: { ComparisonOperator: 'NE', AttributeValueList: [S('q')] } },
            }),
          ),
          'ValidationException',
          'Attempted conditional constraint is not an indexable operation',
        );
      });

      test('KeyConditions go with FilterExpression and ProjectionExpression, not KeyConditionExpression', async () => {
        const KeyConditions = {
          pk: { ComparisonOperator: 'EQ' as const, AttributeValueList: [S('q')] },
        };
        const q = await h.client.send(
          new QueryCommand({
            TableName: 'events',
            KeyConditions,
            FilterExpression: 'odd = :t',
            ProjectionExpression: 'n',
            ExpressionAttributeValues: { ':t': { BOOL: true } },
          }),
        );
        assert.deepEqual(
          q.Items!.map((i) => Object.keys(i)),
          q.Items!.map(() => ['n']),
        );
        assert.ok(q.Items!.length > 0);
        await rejectsWith(
          h.client.send(
            new QueryCommand({
              TableName: 'events',
              KeyConditions,
              KeyConditionExpression: 'pk = :p',
              ExpressionAttributeValues: { ':p': S('q') },
            }),
          ),
          'ValidationException',
          'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {KeyConditions} Expression parameters: {KeyConditionExpression}',
        );
        await rejectsWith(
          h.client.send(
            new QueryCommand({
              TableName: 'events',
              KeyConditions,
              QueryFilter: { n: { ComparisonOperator: 'EQ', AttributeValueList: [N('1')] } },
            }),
          ),
          'ValidationException',
          'QueryFilter can only contain non-primary key attributes: Primary key attribute: n',
        );
      });

      test('AttributeUpdates ADD or DELETE of a set of another type is a type mismatch', async () => {
        const Key = { id: S('legacy-mismatch') };
        await h.client.send(
          new PutItemCommand({ TableName: 'items', Item: { ...Key, s: { SS: ['a'] } } }),
        );
        for (const Action of ['ADD', 'DELETE'] as const) {
          await rejectsWith(
            h.client.send(
              new UpdateItemCommand({
                TableName: 'items',
                Key,
                AttributeUpdates: { s: { Action, Value: { NS: ['1'] } } },
              }),
            ),
            'ValidationException',
            'Type mismatch for attribute to update',
          );
        }
      });

      test('an update that only removes attributes does not create a missing item', async () => {
        const updates = [
          { AttributeUpdates: { a: { Action: 'DELETE' as const } } },
          { AttributeUpdates: { a: { Action: 'DELETE' as const, Value: { SS: ['x'] } } } },
          { UpdateExpression: 'REMOVE a' },
          { UpdateExpression: 'DELETE a :s', ExpressionAttributeValues: { ':s': { SS: ['x'] } } },
        ];
        for (const [i, u] of updates.entries()) {
          const Key = { id: S(`only-removes-${i}`) };
          const r = await h.client.send(
            new UpdateItemCommand({ TableName: 'items', Key, ReturnValues: 'ALL_NEW', ...u }),
          );
          assert.equal(r.Attributes, undefined);
          const got = await h.client.send(
            new GetItemCommand({ TableName: 'items', Key, ConsistentRead: true }),
          );
          assert.equal(got.Item, undefined, JSON.stringify(u));
        }
        // An empty update still creates the item, as an update with a SET does.
        const Key = { id: S('only-removes-empty') };
        await h.client.send(
          new UpdateItemCommand({ TableName: 'items', Key, AttributeUpdates: {} }),
        );
        const got = await h.client.send(
          new GetItemCommand({ TableName: 'items', Key, ConsistentRead: true }),
        );
        assert.deepEqual(got.Item, Key);
      });
    });

    describe('capacity', () => {
      test('ReturnConsumedCapacity follows DynamoDB unit arithmetic', async () => {
        const item = { id: S('cap'), data: S('x'.repeat(2500)) };
        const put = await h.client.send(
          new PutItemCommand({ TableName: 'items', Item: item, ReturnConsumedCapacity: 'TOTAL' }),
        );
        assert.deepEqual(put.ConsumedCapacity, { TableName: 'items', CapacityUnits: 3 });
        const weak = await h.client.send(
          new GetItemCommand({
            TableName: 'items',
            Key: { id: S('cap') },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        assert.equal(weak.ConsumedCapacity?.CapacityUnits, 0.5);
        const strong = await h.client.send(
          new GetItemCommand({
            TableName: 'items',
            Key: { id: S('cap') },
            ConsistentRead: true,
            ReturnConsumedCapacity: 'INDEXES',
          }),
        );
        assert.deepEqual(strong.ConsumedCapacity, {
          TableName: 'items',
          CapacityUnits: 1,
          Table: { CapacityUnits: 1 },
        });
        const none = await h.client.send(
          new GetItemCommand({ TableName: 'items', Key: { id: S('cap') } }),
        );
        assert.equal(none.ConsumedCapacity, undefined);
      });
    });
  });
}
