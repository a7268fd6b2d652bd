// The gateway's stream poller against a table service that checks SigV4: `selfless
// gateway` as operators run it, its own process, with SELFLESS_TABLES_ACCESS_KEY. With
// one of the table service's keys it signs DescribeTable, DescribeStream,
// GetShardIterator and GetRecords, and a real function gets the stream record; with a
// wrong secret it is refused, counts the refusals by error type on /metrics, says so
// in the trigger's StateTransitionReason, and keeps serving.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { freePort } from './services/process.ts';
import { sdkClient, startHarness, type Harness } from './support/tables.ts';

const KEY = { accessKeyId: 'AKIDGATEWAY', secretAccessKey: 'gateway-secret' };

interface Gateway {
  url: string;
  out: string;
  stop(): Promise<number | null>;
}

async function gateway(tablesUrl: string, name: string, accessKey: string): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'selfless-esm-sigv4-'));
  const out = join(dir, 'events.jsonl');
  writeFileSync(
    join(dir, 'fn.yaml'),
    `apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: ${name} }
spec:
  runtime: nodejs20.x
  handler: index.handler
  environment: { variables: { OUT: ${JSON.stringify(out)} } }
  code:
    inline:
      index.mjs: |
        import { appendFileSync } from 'node:fs';
        export const handler = async (e) => { appendFileSync(process.env.OUT, JSON.stringify(e) + '\\n'); };
  triggers:
    - dynamodbStream: { table: orders, startingPosition: TRIM_HORIZON, batchSize: 10 }
`,
  );
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '..', 'bin', 'selfless.js'),
      'gateway',
      '--manifests',
      dir,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--tables-url',
      tablesUrl,
    ],
    {
      env: { ...process.env, SELFLESS_TABLES_ACCESS_KEY: accessKey },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr.on('data', (c) => (log += c));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  await new Promise<void>((ok, fail) => {
    // A fresh checkout compiles every source through tsx on the first start.
    const t = setTimeout(() => fail(new Error(`not listening: ${log}`)), 90_000);
    child.stderr.on('data', () => {
      if (log.includes('"gateway listening"')) {
        clearTimeout(t);
        ok();
      }
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    out,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

async function until(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const metrics = async (g: Gateway) => (await fetch(`${g.url}/metrics`)).text();

describe('stream triggers against a table service that checks signatures', () => {
  let tables: Harness;
  let right: Gateway;
  let wrong: Gateway;

  before(async () => {
    tables = await startHarness('sqlite', {
      auth: { credentials: { [KEY.accessKeyId]: KEY.secretAccessKey, AKIDTEST: 'test-secret' } },
    });
    const client = sdkClient(tables.server.url, {
      accessKeyId: 'AKIDTEST',
      secretAccessKey: 'test-secret',
    });
    await client.send(
      new CreateTableCommand({
        TableName: 'orders',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      }),
    );
    await client.send(
      new PutItemCommand({ TableName: 'orders', Item: { id: { S: 'o-1' }, n: { N: '7' } } }),
    );
    client.destroy();
    // Both start at once: each compiles its sources on a first start.
    [right, wrong] = await Promise.all([
      gateway(tables.server.url, 'signed', `${KEY.accessKeyId}:${KEY.secretAccessKey}`),
      gateway(tables.server.url, 'refused', `${KEY.accessKeyId}:not-the-secret`),
    ]);
  });
  after(async () => {
    await Promise.all([right?.stop(), wrong?.stop()]);
    await tables?.close();
  });

  test('with one of its keys the poller reads the stream and the function gets the record', async () => {
    await until('the function ran', () => existsSync(right.out));
    const events = readFileSync(right.out, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            Records: { eventName: string; dynamodb: { NewImage: unknown } }[];
          },
      );
    assert.equal(events.length, 1);
    assert.deepEqual(
      events[0]!.Records.map((r) => [r.eventName, r.dynamodb.NewImage]),
      [['INSERT', { id: { S: 'o-1' }, n: { N: '7' } }]],
    );
    assert.doesNotMatch(await metrics(right), /selfless_event_source_stream_errors_total\{/);
  });

  test('with a wrong secret the refusals are counted, the trigger says why, and the gateway keeps serving', async () => {
    await until('a refusal on /metrics', async () =>
      /selfless_event_source_stream_errors_total\{action="DescribeTable",error="InvalidSignatureException"\} [1-9]/.test(
        await metrics(wrong),
      ),
    );
    const lambda = new LambdaClient({
      endpoint: wrong.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const { EventSourceMappings } = await lambda.send(
      new ListEventSourceMappingsCommand({ FunctionName: 'refused' }),
    );
    lambda.destroy();
    assert.equal(EventSourceMappings?.length, 1);
    assert.equal(
      EventSourceMappings[0]!.StateTransitionReason,
      'Table orders is not readable: InvalidSignatureException',
    );
    assert.equal(existsSync(wrong.out), false, 'the function was never invoked');
    assert.equal(await wrong.stop(), 0, 'stops cleanly on SIGTERM');
  });
});
