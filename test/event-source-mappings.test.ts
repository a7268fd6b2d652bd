// Event source mappings from table streams to functions, end to end on a `selfless
// dev` server: real Node.js runtimes under the agent, the table service's streams
// over HTTP, the real @aws-sdk/client-lambda for the API and @aws-sdk/client-dynamodb
// for the writes. Handlers write what they receive to a file; the test reads it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { makeLogger } from '../lib/log.ts';
import { startDev, type DevServer } from '../cli/dev.ts';

const dir = mkdtempSync(join(tmpdir(), 'selfless-esm-'));
const out = (name: string) => join(dir, `${name}.jsonl`);

// Records what a successful batch held; a batch holding a `poison` item fails.
const handler = `
import { appendFileSync } from 'node:fs';
export const handler = async (event) => {
  if (event.Records.some((r) => r.dynamodb.NewImage?.poison)) throw new Error('poisoned record');
  appendFileSync(process.env.OUT, event.Records.map((r) => JSON.stringify(r)).join('\\n') + '\\n');
  return { batchItemFailures: [] };
};`;

const fn = (name: string, trigger = '', extra = '') => `
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: ${name} }
spec:
  runtime: nodejs20.x
  handler: index.handler${extra}
  environment: { variables: { OUT: ${JSON.stringify(out(name))} } }
  code:
    inline:
      index.mjs: ${JSON.stringify(handler)}
${trigger}
---`;

const table = (name: string) => `
apiVersion: selfless.dev/v1alpha1
kind: Table
metadata: { name: ${name} }
spec:
  attributeDefinitions: [{ attributeName: id, attributeType: S }]
  keySchema: [{ attributeName: id, keyType: HASH }]
  billingMode: PAY_PER_REQUEST
  streamSpecification: { streamEnabled: true, streamViewType: NEW_AND_OLD_IMAGES }
---`;

writeFileSync(
  join(dir, 'app.yaml'),
  [
    table('orders'),
    table('poisoned'),
    table('filtered'),
    table('held'),
    fn('sink'),
    fn(
      'bisected',
      `  triggers:
    - dynamodbStream:
        table: poisoned
        startingPosition: TRIM_HORIZON
        batchSize: 10
        bisectBatchOnFunctionError: true
        maximumRetryAttempts: 1
        onFailure: { destination: 'queue:poison-dlq' }`,
    ),
    fn(
      'picky',
      `  triggers:
    - dynamodbStream:
        table: filtered
        startingPosition: TRIM_HORIZON
        filterCriteria:
          filters:
            - pattern: { eventName: [INSERT], dynamodb: { NewImage: { kind: { S: [keep] } } } }
            - pattern: '{"dynamodb": {"Keys": {"id": {"S": [{"prefix": "always-"}]}}}}'`,
    ),
    fn(
      'throttled',
      `  triggers:
    - dynamodbStream: { table: held, startingPosition: TRIM_HORIZON }`,
      '\n  reservedConcurrentExecutions: 0',
    ),
  ].join('\n'),
);

let dev: DevServer;
let lambda: LambdaClient;
let ddb: DynamoDBClient;

before(async () => {
  dev = await startDev({
    dir,
    port: 0,
    host: '127.0.0.1',
    idleTimeoutMs: 60_000,
    accountLimit: 100,
    log: makeLogger('dev', { level: 'error' }),
    eventSources: { refreshMs: 200, poller: { pollMs: 50, retryBaseMs: 50, retryMaxMs: 200 } },
  });
  const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
  lambda = new LambdaClient({
    endpoint: dev.url,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
  ddb = new DynamoDBClient({ endpoint: dev.url, region: 'us-east-1', credentials, maxAttempts: 1 });
});
after(async () => {
  lambda.destroy();
  ddb.destroy();
  await dev.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Seen {
  eventID: string;
  eventName: string;
  eventSourceARN: string;
  eventVersion: string;
  dynamodb: {
    Keys: { id: { S: string } };
    NewImage?: Record<string, { S?: string; N?: string }>;
    SequenceNumber: string;
  };
}

function seen(name: string): Seen[] {
  if (!existsSync(out(name))) return [];
  return readFileSync(out(name), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Seen);
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function streamArn(t: string): Promise<string> {
  const d = await ddb.send(new DescribeTableCommand({ TableName: t }));
  return d.Table!.LatestStreamArn!;
}

const put = (t: string, item: Record<string, string | number | boolean>) =>
  ddb.send(
    new PutItemCommand({
      TableName: t,
      Item: Object.fromEntries(
        Object.entries(item).map(([k, v]) => [
          k,
          typeof v === 'number'
            ? { N: String(v) }
            : typeof v === 'boolean'
              ? { BOOL: v }
              : { S: v },
        ]),
      ),
    }),
  );

describe('event source mappings', () => {
  test('the Lambda API creates, reads, lists, updates and deletes a mapping with Lambda defaults and errors', async () => {
    const arn = await streamArn('orders');
    const created = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'sink',
        EventSourceArn: arn,
        StartingPosition: 'TRIM_HORIZON',
        Enabled: false,
      }),
    );
    assert.equal(created.State, 'Creating');
    assert.equal(created.BatchSize, 100);
    assert.equal(created.MaximumRetryAttempts, -1);
    assert.equal(created.MaximumRecordAgeInSeconds, -1);
    assert.equal(created.ParallelizationFactor, 1);
    assert.equal(created.MaximumBatchingWindowInSeconds, 0);
    assert.equal(created.BisectBatchOnFunctionError, false);
    assert.equal(created.FunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:sink');
    assert.equal(created.EventSourceArn, arn);
    assert.equal(created.LastProcessingResult, 'No records processed');
    const uuid = created.UUID!;
    await until('Disabled', async () => {
      const g = await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
      return g.State === 'Disabled' ? g : undefined;
    });

    await assert.rejects(
      lambda.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'sink',
          EventSourceArn: arn,
          StartingPosition: 'LATEST',
        }),
      ),
      (e: Error) =>
        e.name === 'ResourceConflictException' &&
        e.message ===
          `The event source arn (" ${arn} ") and function (" sink ") provided mapping already exists. Please update or delete the existing mapping with UUID ${uuid}`,
    );
    await assert.rejects(
      lambda.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'sink',
          EventSourceArn: arn,
          StartingPosition: 'LATEST',
          BatchSize: 10001,
        }),
      ),
      (e: Error) =>
        e.name === 'ValidationException' &&
        e.message ===
          "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000",
    );
    const missing = arn.replace(/stream\/.*/, 'stream/2020-01-01T00:00:00.000');
    await assert.rejects(
      lambda.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'sink',
          EventSourceArn: missing,
          StartingPosition: 'LATEST',
        }),
      ),
      (e: Error) =>
        e.name === 'InvalidParameterValueException' && e.message === `Stream not found: ${missing}`,
    );
    await assert.rejects(
      lambda.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'sink',
          EventSourceArn: arn,
          StartingPosition: 'LATEST',
          FilterCriteria: { Filters: [{ Pattern: '{"eventName": "INSERT"}' }] },
        }),
      ),
      (e: Error) =>
        e.name === 'InvalidParameterValueException' &&
        e.message === 'Invalid filter pattern definition.',
    );
    await assert.rejects(
      lambda.send(
        new GetEventSourceMappingCommand({ UUID: '00000000-0000-4000-a000-000000000000' }),
      ),
      (e: Error) =>
        e.name === 'ResourceNotFoundException' &&
        e.message === 'The resource you requested does not exist.',
    );

    const updated = await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: uuid, BatchSize: 7, Enabled: true }),
    );
    assert.equal(updated.State, 'Updating');
    assert.equal(updated.BatchSize, 7);
    await until('Enabled', async () => {
      const g = await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
      return g.State === 'Enabled' ? g : undefined;
    });
    const listed = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'sink' }));
    assert.deepEqual(
      listed.EventSourceMappings!.map((m) => m.UUID),
      [uuid],
    );
    const all = await lambda.send(new ListEventSourceMappingsCommand({}));
    // The dynamodbStream triggers are mappings the API lists, beside this one.
    assert.equal(all.EventSourceMappings!.length, 4);
    const picky = all.EventSourceMappings!.find((m) => m.FunctionArn!.endsWith(':picky'))!;
    assert.equal(picky.EventSourceArn, await streamArn('filtered'));
    assert.equal(picky.FilterCriteria!.Filters!.length, 2);
    await assert.rejects(
      lambda.send(new DeleteEventSourceMappingCommand({ UUID: picky.UUID! })),
      (e: Error) => e.name === 'ResourceConflictException',
    );

    const deleted = await lambda.send(new DeleteEventSourceMappingCommand({ UUID: uuid }));
    assert.equal(deleted.State, 'Deleting');
    await until('gone', async () => {
      try {
        await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
        return undefined;
      } catch (e) {
        return (e as Error).name === 'ResourceNotFoundException' ? true : undefined;
      }
    });
  });

  test('1,000 writes across 50 items reach a succeeding handler once each, in order per item', async () => {
    const arn = await streamArn('orders');
    const m = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'sink',
        EventSourceArn: arn,
        StartingPosition: 'LATEST',
        BatchSize: 100,
      }),
    );
    await until('Enabled', async () => {
      const g = await lambda.send(new GetEventSourceMappingCommand({ UUID: m.UUID! }));
      return g.State === 'Enabled' ? g : undefined;
    });
    // A LATEST mapping starts at its first pass: give it one before writing.
    await dev.gateway.eventSources!.refresh();
    const before = seen('sink').length;
    for (let n = 0; n < 20; n++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => put('orders', { id: `item-${i}`, n })),
      );
    }
    const got = await until('1,000 records', () => {
      const s = seen('sink').slice(before);
      return s.length >= 1000 ? s : undefined;
    });
    assert.equal(got.length, 1000, 'no record twice');
    assert.equal(new Set(got.map((r) => r.eventID)).size, 1000);
    const perItem = new Map<string, number[]>();
    for (const r of got) {
      assert.equal(r.eventSourceARN, arn);
      assert.equal(r.eventVersion, '1.1');
      const id = r.dynamodb.Keys.id.S;
      perItem.set(id, [...(perItem.get(id) ?? []), Number(r.dynamodb.NewImage!.n!.N)]);
    }
    assert.equal(perItem.size, 50);
    for (const [id, ns] of perItem) {
      assert.deepEqual(
        ns,
        Array.from({ length: 20 }, (_, n) => n),
        id,
      );
    }
    const g = await lambda.send(new GetEventSourceMappingCommand({ UUID: m.UUID! }));
    assert.equal(g.LastProcessingResult, 'OK');
    const metrics = await (await fetch(`${dev.url}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `selfless_event_source_records_read_total\\{mapping="${m.UUID}",function="sink"\\} 1000`,
      ),
    );
    assert.match(metrics, /selfless_event_source_iterator_age_milliseconds\{mapping=/);
  });

  test('a poisoned record is bisected out to the on-failure destination while the rest of the shard goes on', async () => {
    const arn = await streamArn('poisoned');
    for (let i = 0; i < 30; i++) {
      await put('poisoned', {
        id: `p-${String(i).padStart(2, '0')}`,
        ...(i === 13 && { poison: true }),
      });
    }
    const got = await until('29 records', () => {
      const s = seen('bisected');
      return s.length >= 29 ? s : undefined;
    });
    const ids = got.map((r) => r.dynamodb.Keys.id.S);
    assert.deepEqual(
      ids,
      Array.from({ length: 30 }, (_, i) => `p-${String(i).padStart(2, '0')}`).filter(
        (x) => x !== 'p-13',
      ),
      'every other record once, in order',
    );
    const records = await until('the failure record', async () => {
      const r = await dev.gateway.async!.store.takeFromQueue('poison-dlq', 10);
      return r.length > 0 ? r : undefined;
    });
    assert.equal(records.length, 1);
    const rec = JSON.parse(records[0]!) as {
      version: string;
      timestamp: string;
      requestContext: { functionArn: string; condition: string; approximateInvokeCount: number };
      responseContext: { statusCode: number; functionError: string };
      DDBStreamBatchInfo: Record<string, unknown>;
    };
    assert.equal(rec.version, '1.0');
    assert.equal(rec.requestContext.condition, 'RetryAttemptsExhausted');
    // The first try of the record alone and its one retry, plus the invocations of any
    // larger batch it was in before bisection split it out: how the 30 puts fell into
    // batches depends on when the poller read them.
    assert.ok(
      rec.requestContext.approximateInvokeCount >= 2,
      `the first try and one retry at least (${rec.requestContext.approximateInvokeCount})`,
    );
    assert.equal(
      rec.requestContext.functionArn,
      'arn:aws:lambda:us-east-1:000000000000:function:bisected',
    );
    assert.equal(rec.responseContext.statusCode, 200);
    assert.equal(rec.responseContext.functionError, 'Unhandled');
    const info = rec.DDBStreamBatchInfo;
    assert.equal(info.batchSize, 1);
    assert.equal(info.streamArn, arn);
    assert.equal(info.startSequenceNumber, info.endSequenceNumber);
    assert.match(String(info.shardId), /^shardId-/);
    assert.match(String(info.approximateArrivalOfFirstRecord), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const metrics = await (await fetch(`${dev.url}/metrics`)).text();
    assert.match(
      metrics,
      /selfless_event_source_batches_discarded_total\{mapping="[^"]+",function="bisected",condition="RetryAttemptsExhausted"\} 1/,
    );
  });

  test('filters drop what matches none of them before batching', async () => {
    for (let i = 0; i < 10; i++) {
      await put('filtered', { id: `k-${i}`, kind: 'keep' });
      await put('filtered', { id: `d-${i}`, kind: 'drop' });
    }
    for (let i = 0; i < 5; i++) await put('filtered', { id: `k-${i}`, kind: 'keep', v: 2 });
    await put('filtered', { id: 'always-last', kind: 'other' });
    const got = await until('the last record', () => {
      const s = seen('picky');
      return s.some((r) => r.dynamodb.Keys.id.S === 'always-last') ? s : undefined;
    });
    assert.deepEqual(
      got.map((r) => `${r.eventName} ${r.dynamodb.Keys.id.S}`),
      [...Array.from({ length: 10 }, (_, i) => `INSERT k-${i}`), 'INSERT always-last'],
    );
    const metrics = await (await fetch(`${dev.url}/metrics`)).text();
    assert.match(
      metrics,
      /selfless_event_source_records_filtered_total\{mapping="[^"]+",function="picky"\} 15/,
    );
  });

  test('stream invocations take the concurrency quotas: a function reserved at 0 is throttled and its shard waits', async () => {
    await put('held', { id: 'h-1' });
    const metrics = await until('a throttled stream invocation', async () => {
      const text = await (await fetch(`${dev.url}/metrics`)).text();
      return /selfless_event_source_invocations_total\{mapping="[^"]+",function="throttled",outcome="throttled"\} [1-9]/.test(
        text,
      )
        ? text
        : undefined;
    });
    assert.match(metrics, /selfless_function_throttles_total\{function="throttled"/);
    assert.deepEqual(seen('throttled'), []);
    const { EventSourceMappings } = await lambda.send(
      new ListEventSourceMappingsCommand({ FunctionName: 'throttled' }),
    );
    assert.equal(
      EventSourceMappings![0]!.LastProcessingResult,
      'PROBLEM: Function call throttled.',
    );
  });
});
