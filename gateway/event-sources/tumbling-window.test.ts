// TumblingWindowInSeconds as a setting: through the real @aws-sdk/client-lambda on a
// gateway whose event sources read a fake stream, Create, Get, List and Update answer
// it (0 when not given) and a value outside 0-900 gets Lambda's ValidationException;
// with ParallelizationFactor above 1 it is refused (one order per windowed shard); a
// Function's dynamodbStream trigger takes tumblingWindowInSeconds with the same rules.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  CreateEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { parseFunctionManifest } from '../../lib/function.ts';
import { makeLogger } from '../../lib/log.ts';
import { testFunction } from '../../test/support/gateway.ts';
import { makeGateway, type Gateway } from '../app.ts';
import { FunctionRegistry } from '../registry.ts';
import { triggerMapping } from './mapping.ts';
import { makeEventSources } from './service.ts';
import { MemoryMappingStore } from './store.ts';
import type { StreamsApi } from './streams-client.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000';

const empty: StreamsApi = {
  describeTable: () => Promise.resolve({ LatestStreamArn: ARN, StreamEnabled: true }),
  describeStream: () => Promise.resolve({ status: 'ENABLED', shards: [] }),
  shardIterator: () => Promise.resolve('0'),
  records: () => Promise.resolve({ records: [], next: '0' }),
};

let gateway: Gateway;
let server: Server;
let lambda: LambdaClient;

before(async () => {
  const registry = new FunctionRegistry();
  registry.put(testFunction('agg'));
  registry.put(testFunction('plain'));
  gateway = makeGateway({
    registry,
    log: makeLogger('test', { level: 'error' }),
    eventSources: makeEventSources({ store: new MemoryMappingStore(), streams: empty }),
  });
  server = createServer(gateway.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  lambda = new LambdaClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
});
after(async () => {
  lambda.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await gateway.close();
});

async function settled(uuid: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const g = await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
    if (g.State === 'Enabled' || g.State === 'Disabled') return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`mapping ${uuid} never settled`);
}

const tooBig =
  "1 validation error detected: Value '901' at 'tumblingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900";

describe('TumblingWindowInSeconds', () => {
  test('Create, Get, List and Update answer it; a mapping without one answers 0', async () => {
    const created = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'agg',
        EventSourceArn: ARN,
        StartingPosition: 'TRIM_HORIZON',
        TumblingWindowInSeconds: 120,
        Enabled: false,
      }),
    );
    assert.equal(created.TumblingWindowInSeconds, 120);
    const uuid = created.UUID!;
    await settled(uuid);
    assert.equal(
      (await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }))).TumblingWindowInSeconds,
      120,
    );
    const listed = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'agg' }));
    assert.deepEqual(
      listed.EventSourceMappings!.map((m) => m.TumblingWindowInSeconds),
      [120],
    );

    const updated = await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: uuid, TumblingWindowInSeconds: 900 }),
    );
    assert.equal(updated.TumblingWindowInSeconds, 900);
    await settled(uuid);
    const off = await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: uuid, TumblingWindowInSeconds: 0 }),
    );
    assert.equal(off.TumblingWindowInSeconds, 0);

    const plain = await lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'plain',
        EventSourceArn: ARN,
        StartingPosition: 'LATEST',
        Enabled: false,
      }),
    );
    assert.equal(plain.TumblingWindowInSeconds, 0);
  });

  test("a value outside 0-900 gets Lambda's ValidationException, on Create and on Update", async () => {
    await assert.rejects(
      lambda.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'agg',
          EventSourceArn: ARN.replace('2026', '2027'),
          StartingPosition: 'LATEST',
          TumblingWindowInSeconds: 901,
        }),
      ),
      (e: Error) => e.name === 'ValidationException' && e.message === tooBig,
    );
    const [m] = (await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'agg' })))
      .EventSourceMappings!;
    await settled(m!.UUID!);
    await assert.rejects(
      lambda.send(
        new UpdateEventSourceMappingCommand({ UUID: m!.UUID!, TumblingWindowInSeconds: -1 }),
      ),
      (e: Error) =>
        e.name === 'ValidationException' &&
        e.message ===
          "1 validation error detected: Value '-1' at 'tumblingWindowInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 0",
    );
  });
});

test('a window with ParallelizationFactor above 1 is refused, on Create and on Update', async () => {
  const lanes = (e: Error) =>
    e.name === 'InvalidParameterValueException' &&
    e.message === 'TumblingWindowInSeconds requires a ParallelizationFactor of 1.';
  await assert.rejects(
    lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'agg',
        EventSourceArn: ARN.replace('2026', '2028'),
        StartingPosition: 'LATEST',
        TumblingWindowInSeconds: 60,
        ParallelizationFactor: 2,
      }),
    ),
    lanes,
  );
  const [m] = (await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'plain' })))
    .EventSourceMappings!;
  await settled(m!.UUID!);
  await lambda.send(
    new UpdateEventSourceMappingCommand({ UUID: m!.UUID!, ParallelizationFactor: 3 }),
  );
  await settled(m!.UUID!);
  await assert.rejects(
    lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: m!.UUID!, TumblingWindowInSeconds: 60 }),
    ),
    lanes,
  );
});

describe('the dynamodbStream trigger', () => {
  const manifest = (trigger: Record<string, unknown>) => ({
    apiVersion: 'selfless.dev/v1alpha1',
    kind: 'Function',
    metadata: { name: 'agg' },
    spec: {
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { inline: { 'index.mjs': '' } },
      triggers: [{ dynamodbStream: { table: 'orders', ...trigger } }],
    },
  });

  test('tumblingWindowInSeconds reaches the mapping; absent it is 0', () => {
    for (const [given, want] of [
      [60, 60],
      [undefined, 0],
    ] as const) {
      const parsed = parseFunctionManifest(
        manifest(given === undefined ? {} : { tumblingWindowInSeconds: given }),
      );
      assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
      const [t] = parsed.value.spec.triggers;
      assert.ok(t && 'dynamodbStream' in t);
      assert.equal(
        triggerMapping('default/agg', t.dynamodbStream, 0).tumblingWindowInSeconds,
        want,
      );
    }
  });

  test('tumblingWindowInSeconds above 900, or with parallelizationFactor above 1, is refused at its field', () => {
    for (const trigger of [
      { tumblingWindowInSeconds: 901 },
      { tumblingWindowInSeconds: 60, parallelizationFactor: 2 },
    ]) {
      const parsed = parseFunctionManifest(manifest(trigger));
      assert.ok(!parsed.ok);
      assert.deepEqual(
        parsed.errors.map((e) => e.field),
        ['spec.triggers[0].dynamodbStream.tumblingWindowInSeconds'],
      );
    }
  });
});
