// Table events on the real cluster: a Table resource with a stream, a Function whose
// `dynamodbStream` trigger reads it through the gateway replicas, and the handler
// recording what it was given in a second table. What the checks ask of it:
// 1,000 writes across 50 items arrive once each and in order per item; a poisoned
// record is bisected out to the on-failure destination while the shard goes on; a
// filter drops what it should; the gateway pods deleted mid-stream lose nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
} from '@aws-sdk/client-lambda';
import {
  arnOf,
  deleteNamespace,
  dynamodbClient,
  e2eCluster,
  eventually,
  getJson,
  kubectl,
  lambdaClient,
  liftDeletionProtection,
  makeNamespace,
  waitReady,
  type E2eCluster,
} from './support.ts';

const ITEMS = 50;

// The consumer appends each record's round to its item's list in the sink, one record
// after another, so the list is the order the function was given them. A batch with
// the poisoned record fails before it writes anything: a retried or bisected batch
// leaves no partial trace, and any duplicate in a list is a real re-delivery.
const consumer = `
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
const db = new DynamoDBClient({});
export const handler = async (event) => {
  if (event.Records.some((r) => r.dynamodb.NewImage?.poison)) throw new Error('poisoned record');
  for (const r of event.Records) {
    const img = r.dynamodb.NewImage;
    await db.send(new UpdateItemCommand({
      TableName: process.env.SINK, Key: { id: { S: img.pk.S } },
      UpdateExpression: 'SET rounds = list_append(if_not_exists(rounds, :none), :r), kind = :k',
      ExpressionAttributeValues: {
        ':none': { L: [] }, ':r': { L: [{ N: img.round.N }] }, ':k': { S: img.kind.S },
      },
    }));
  }
  if (Number(process.env.SLEEP) > 0) await new Promise((r) => setTimeout(r, Number(process.env.SLEEP)));
  return {};
};`;

// The on-failure destination: an async event of this function, whose payload is
// Lambda's record of the discarded batch.
const audit = `
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
const db = new DynamoDBClient({});
export const handler = async (event) => {
  await db.send(new PutItemCommand({
    TableName: process.env.SINK,
    Item: { id: { S: 'failure:' + event.DDBStreamBatchInfo.startSequenceNumber }, body: { S: JSON.stringify(event) } },
  }));
};`;

describe('stream triggers on a real cluster', () => {
  let c: E2eCluster;
  let ns: string;
  const source = `e2e-src-${Date.now()}`;
  const sink = `e2e-sink-${Date.now()}`;
  const apiSource = `e2e-api-src-${Date.now()}`;

  const applyFunction = (name: string, spec: Record<string, unknown>) =>
    kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Function',
        metadata: { name },
        spec: { runtime: 'nodejs20.x', handler: 'index.handler', timeout: 30, ...spec },
      }),
    });

  const put = (
    pk: string,
    round: number,
    extra: Record<string, AttributeValue> = {},
    table = source,
  ) =>
    dynamodbClient(c).send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: pk }, round: { N: String(round) }, kind: { S: 'keep' }, ...extra },
      }),
    );

  /** The sink's lists of rounds per item, and its failure records. */
  const sinkState = async () => {
    const rounds = new Map<string, number[]>();
    const failures: Record<string, unknown>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamodbClient(c).send(
        new ScanCommand({ TableName: sink, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const id = item.id!.S!;
        if (id.startsWith('failure:')) failures.push(JSON.parse(item.body!.S!));
        else
          rounds.set(
            id,
            (item.rounds?.L ?? []).map((r) => Number(r.N)),
          );
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return { rounds, failures };
  };

  const through = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-streams');
    await dynamodbClient(c).send(
      new CreateTableCommand({
        TableName: sink,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Table',
        metadata: { name: 'source' },
        spec: {
          tableName: source,
          attributeDefinitions: [{ attributeName: 'pk', attributeType: 'S' }],
          keySchema: [{ attributeName: 'pk', keyType: 'HASH' }],
          streamSpecification: { streamEnabled: true, streamViewType: 'NEW_AND_OLD_IMAGES' },
          deletionProtectionEnabled: false,
        },
      }),
    });
    await waitReady(c, 'table', 'source', ns, ['TableActive']);
  });

  after(async () => {
    await liftDeletionProtection(c, ns, 'source').catch(() => undefined);
    await deleteNamespace(c, ns);
    for (const t of [sink, apiSource])
      await dynamodbClient(c)
        .send(new DeleteTableCommand({ TableName: t }))
        .catch(() => undefined);
  });

  test('1,000 writes across 50 items reach the trigger once each and in order per item; a filter drops its records; a poisoned record is bisected out to the on-failure destination', async () => {
    const described = await dynamodbClient(c).send(new DescribeTableCommand({ TableName: source }));
    const streamArn = described.Table!.LatestStreamArn;
    assert.ok(streamArn, 'the Table resource enabled a stream');

    await applyFunction('audit', {
      environment: { variables: { SINK: sink } },
      code: { inline: { 'index.mjs': audit } },
    });
    await applyFunction('consumer', {
      environment: { variables: { SINK: sink, SLEEP: '0' } },
      code: { inline: { 'index.mjs': consumer } },
      triggers: [
        {
          dynamodbStream: {
            table: source,
            startingPosition: 'TRIM_HORIZON',
            batchSize: 100,
            bisectBatchOnFunctionError: true,
            maximumRetryAttempts: 1,
            filterCriteria: {
              filters: [{ pattern: '{"dynamodb":{"NewImage":{"kind":{"S":["keep"]}}}}' }],
            },
            onFailure: { destination: 'function:audit' },
          },
        },
      ],
    });
    for (const f of ['audit', 'consumer'])
      await waitReady(c, 'function', f, ns, ['WorkersAvailable', 'ScaledToZero']);

    // Twenty rounds over fifty items, one write at a time, so the stream's order is
    // the order written; the poisoned record and the filtered ones fall in between.
    for (let round = 1; round <= 20; round++) {
      for (let i = 0; i < ITEMS; i++) await put(`item-${i}`, round);
      if (round === 10) await put('poisoned', 1, { poison: { BOOL: true } });
      if (round % 5 === 0) await put(`dropped-${round}`, round, { kind: { S: 'drop' } });
    }

    const state = await eventually(
      'every item at round 20 and the poisoned record discarded',
      async () => {
        const s = await sinkState();
        const done = [...Array(ITEMS).keys()].filter(
          (i) => s.rounds.get(`item-${i}`)?.at(-1) === 20,
        ).length;
        if (done === ITEMS && s.failures.length >= 1) return s;
        throw new Error(`${done}/${ITEMS} items done, ${s.failures.length} failure records`);
      },
      600_000,
      2_000,
    );
    for (let i = 0; i < ITEMS; i++)
      assert.deepEqual(
        state.rounds.get(`item-${i}`),
        through(20),
        `item-${i}: once each, in order`,
      );
    assert.equal(state.rounds.has('poisoned'), false, 'the poisoned record never succeeded');
    for (const round of [5, 10, 15, 20])
      assert.equal(state.rounds.has(`dropped-${round}`), false, 'the filter dropped it');

    assert.equal(state.failures.length, 1, JSON.stringify(state.failures));
    const failure = state.failures[0] as {
      requestContext: { condition: string; functionArn: string };
      responseContext: { functionError: string };
      DDBStreamBatchInfo: { batchSize: number; streamArn: string; startSequenceNumber: string };
    };
    assert.equal(failure.DDBStreamBatchInfo.batchSize, 1, 'bisected down to the poisoned record');
    assert.equal(failure.DDBStreamBatchInfo.streamArn, streamArn);
    assert.equal(failure.requestContext.condition, 'RetryAttemptsExhausted');
    assert.match(failure.requestContext.functionArn, /:function:consumer$/);
    assert.equal(failure.responseContext.functionError, 'Unhandled');
  });

  test('the gateway pods deleted while the trigger is behind: every record still arrives, each item in order', async () => {
    // A slower handler and small batches keep the trigger behind long enough for the
    // deletion to land mid-stream.
    await kubectl(c, [
      'patch',
      'functions.selfless.dev',
      'consumer',
      '-n',
      ns,
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'replace', path: '/spec/environment/variables/SLEEP', value: '300' },
        { op: 'replace', path: '/spec/triggers/0/dynamodbStream/batchSize', value: 10 },
      ]),
    ]);
    await waitReady(c, 'function', 'consumer', ns, ['WorkersAvailable', 'ScaledToZero']);
    for (let round = 21; round <= 30; round++)
      for (let i = 0; i < ITEMS; i++) await put(`item-${i}`, round);

    await eventually('the trigger has started on the new rounds', async () => {
      const s = await sinkState();
      return [...s.rounds.values()].some((r) => (r.at(-1) ?? 0) > 20) ? true : undefined;
    });
    const gateways = await getJson<{ items: { metadata: { name: string } }[] }>(c, [
      'pods',
      '-n',
      c.namespace,
      '-l',
      `app.kubernetes.io/name=${c.release}-gateway`,
    ]);
    assert.ok(gateways.items.length >= 1);
    await kubectl(c, [
      'delete',
      'pod',
      '-n',
      c.namespace,
      ...gateways.items.map((p) => p.metadata.name),
      '--wait=false',
    ]);
    const before = await sinkState();
    const behind = [...before.rounds.values()].filter((r) => r.at(-1) !== 30).length;
    assert.ok(behind > 0, 'the deletion came while the trigger was behind');

    const state = await eventually(
      'every item at round 30',
      async () => {
        const s = await sinkState();
        const done = [...s.rounds.entries()].filter(
          ([id, r]) => id.startsWith('item-') && r.at(-1) === 30,
        ).length;
        if (done === ITEMS) return s;
        throw new Error(`${done}/${ITEMS} items at round 30`);
      },
      600_000,
      2_000,
    );
    for (let i = 0; i < ITEMS; i++) {
      const rounds = state.rounds.get(`item-${i}`)!;
      // At least once: the batch in flight when a gateway died may come again, but
      // nothing is skipped and, first deliveries taken, the order holds.
      const firsts = rounds.filter((r, k) => rounds.indexOf(r) === k);
      assert.deepEqual(firsts, through(30), `item-${i}: nothing lost, in order`);
    }
  });

  test('a mapping made with CreateEventSourceMapping on a table made with CreateTable: Creating, then Enabled, every record delivered, listed, and deleted', async () => {
    const table = await dynamodbClient(c).send(
      new CreateTableCommand({
        TableName: apiSource,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      }),
    );
    const streamArn = table.TableDescription!.LatestStreamArn!;
    assert.ok(streamArn);
    await applyFunction('api-consumer', {
      environment: { variables: { SINK: sink, SLEEP: '0' } },
      code: { inline: { 'index.mjs': consumer } },
    });
    await waitReady(c, 'function', 'api-consumer', ns, ['WorkersAvailable', 'ScaledToZero']);
    // The mapping is the account's of its function: another account's caller finds no
    // such function, and the function's own namespace makes it.
    await assert.rejects(
      lambdaClient(c).send(
        new CreateEventSourceMappingCommand({
          FunctionName: arnOf(c, ns, 'api-consumer'),
          EventSourceArn: streamArn,
          StartingPosition: 'TRIM_HORIZON',
        }),
      ),
      { name: 'ResourceNotFoundException' },
    );
    const lambda = lambdaClient(c, ns);
    const created = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: arnOf(c, ns, 'api-consumer'),
        EventSourceArn: streamArn,
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 25,
      }),
    );
    assert.equal(created.State, 'Creating');
    assert.equal(created.EventSourceArn, streamArn);
    const uuid = created.UUID!;
    await eventually('the mapping Enabled', async () => {
      const m = await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
      return m.State === 'Enabled' ? m : undefined;
    });
    for (let round = 1; round <= 4; round++)
      for (let i = 0; i < 25; i++) await put(`api-item-${i}`, round, {}, apiSource);
    const state = await eventually(
      'every api item at round 4',
      async () => {
        const s = await sinkState();
        const done = [...Array(25).keys()].filter(
          (i) => s.rounds.get(`api-item-${i}`)?.at(-1) === 4,
        ).length;
        if (done === 25) return s;
        throw new Error(`${done}/25 items at round 4`);
      },
      300_000,
      2_000,
    );
    for (let i = 0; i < 25; i++)
      assert.deepEqual(state.rounds.get(`api-item-${i}`), through(4), `api-item-${i}`);
    const listed = await lambda.send(
      new ListEventSourceMappingsCommand({ EventSourceArn: streamArn }),
    );
    assert.deepEqual(
      listed.EventSourceMappings?.map((m) => m.UUID),
      [uuid],
    );
    const deleted = await lambda.send(new DeleteEventSourceMappingCommand({ UUID: uuid }));
    assert.equal(deleted.State, 'Deleting');
    await eventually('the mapping gone', async () => {
      const left = await lambda.send(
        new ListEventSourceMappingsCommand({ EventSourceArn: streamArn }),
      );
      return (left.EventSourceMappings ?? []).length === 0 ? true : undefined;
    });
  });
});
