// Event invocations through the gateway and the real AWS SDK client, on real
// Redis: 202 only once the event is stored, the function runs it, the event invoke
// configuration API, dead letters listed, inspected and redriven over HTTP, and a
// Redis outage answered with a 5xx ServiceException while sync calls keep working.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  DeleteFunctionEventInvokeConfigCommand,
  GetFunctionEventInvokeConfigCommand,
  InvokeCommand,
  LambdaClient,
  PutFunctionEventInvokeConfigCommand,
  ResourceNotFoundException,
  ServiceException,
  UpdateFunctionEventInvokeConfigCommand,
} from '@aws-sdk/client-lambda';
import type { Redis } from 'ioredis';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../../test/services/index.ts';
import { makeGateway, type Gateway } from '../app.ts';
import { FunctionRegistry } from '../registry.ts';
import { connectRedis } from './redis.ts';
import { RedisEventStore } from './redis-store.ts';
import { makeAsync } from './service.ts';
import { eventually, inlineDriver, testFunction } from '../../test/support/gateway.ts';

const log = makeLogger('test', { level: 'error' });

describe('Event invocations through the gateway on Redis', () => {
  const seen: unknown[] = [];
  let broken = true;
  let redis: Redis;
  let gateway: Gateway;
  let server: Server;
  let url: string;
  let client: LambdaClient;
  const prefix = `{e2e-${randomUUID()}}`;

  before(async () => {
    redis = await connectRedis((await testServices()).redisUrl, log);
    const registry = new FunctionRegistry();
    registry.put(testFunction('record'));
    registry.put(
      testFunction('orders', {
        maximumRetryAttempts: 0,
        destinationConfig: { onFailure: { destination: 'queue:orders-failed' } },
      }),
    );
    gateway = makeGateway({
      registry,
      log,
      driver: inlineDriver({
        record: async (e) => {
          seen.push(e);
          return 'ok';
        },
        orders: async (e) => {
          if (broken) throw new Error('payment service down');
          seen.push(e);
          return 'paid';
        },
      }),
      async: makeAsync({
        store: new RedisEventStore(redis, { prefix }),
        configCacheMs: 0,
        dispatcher: { pollMs: 20 },
        schedule: false,
      }),
    });
    server = gateway.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new LambdaClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
  });

  after(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await gateway.close();
  });

  test('Event answers 202 with a request id once the event is in Redis, and the function runs it', async () => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'record',
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify({ hello: 'async' })),
      }),
    );
    assert.equal(out.StatusCode, 202);
    const requestId = out.$metadata.requestId!;
    assert.match(requestId, /^[0-9a-f-]{36}$/);
    await eventually('the function ran', () => seen.find((e) => (e as { hello?: string }).hello));
  });

  test('Put, Update, Get and DeleteFunctionEventInvokeConfig through the SDK', async () => {
    await assert.rejects(
      client.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'record' })),
      ResourceNotFoundException,
    );
    const put = await client.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'record',
        MaximumRetryAttempts: 1,
        MaximumEventAgeInSeconds: 120,
        DestinationConfig: { OnSuccess: { Destination: 'queue:done' } },
      }),
    );
    assert.equal(put.MaximumRetryAttempts, 1);
    assert.equal(put.FunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:record:$LATEST');
    assert.ok(put.LastModified instanceof Date);
    const upd = await client.send(
      new UpdateFunctionEventInvokeConfigCommand({
        FunctionName: 'record',
        MaximumRetryAttempts: 0,
      }),
    );
    assert.equal(upd.MaximumRetryAttempts, 0);
    assert.equal(upd.MaximumEventAgeInSeconds, 120, 'Update keeps what it does not name');
    const got = await client.send(
      new GetFunctionEventInvokeConfigCommand({ FunctionName: 'record' }),
    );
    assert.equal(got.DestinationConfig?.OnSuccess?.Destination, 'queue:done');

    // The API-set onSuccess destination applies to the next event.
    await client.send(
      new InvokeCommand({ FunctionName: 'record', InvocationType: 'Event', Payload: '{"n":2}' }),
    );
    const store = gateway.async!.store;
    const [rec] = await eventually('success record', async () => {
      const r = await store.takeFromQueue('done', 1);
      return r.length ? r : undefined;
    });
    assert.equal(JSON.parse(rec!).requestContext.condition, 'Success');

    await assert.rejects(
      client.send(
        new PutFunctionEventInvokeConfigCommand({
          FunctionName: 'record',
          MaximumRetryAttempts: 3,
        }),
      ),
      (err: Error) =>
        err.name === 'ValidationException' && /less than or equal to 2/.test(err.message),
    );
    await assert.rejects(
      client.send(
        new PutFunctionEventInvokeConfigCommand({
          FunctionName: 'record',
          DestinationConfig: { OnFailure: { Destination: 'arn:aws:s3:::bucket' } },
        }),
      ),
      (err: Error) => err.name === 'InvalidParameterValueException',
    );
    await client.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'record' }));
    await assert.rejects(
      client.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'record' })),
      ResourceNotFoundException,
    );
    // The spec's configuration is reported when the API has set none.
    const spec = await client.send(
      new GetFunctionEventInvokeConfigCommand({ FunctionName: 'orders' }),
    );
    assert.equal(spec.MaximumRetryAttempts, 0);
    assert.equal(spec.DestinationConfig?.OnFailure?.Destination, 'queue:orders-failed');
  });

  test('dead letters are listed, inspected and redriven through the gateway API', async () => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'orders',
        InvocationType: 'Event',
        Payload: '{"order":42}',
      }),
    );
    const id = out.$metadata.requestId!;
    const base = `${url}/2019-09-25/functions/orders/dead-letters`;
    const list = await eventually('dead letter listed', async () => {
      const body = (await (await fetch(base)).json()) as { DeadLetters: { RequestId: string }[] };
      return body.DeadLetters.length ? body.DeadLetters : undefined;
    });
    assert.equal(list[0]!.RequestId, id);
    const one = (await (await fetch(`${base}/${id}`)).json()) as {
      Condition: string;
      Payload: string;
      Record: { requestContext: { approximateInvokeCount: number }; responsePayload: unknown };
    };
    assert.equal(one.Condition, 'RetriesExhausted');
    assert.equal(one.Payload, '{"order":42}');
    assert.deepEqual(one.Record.responsePayload, {
      errorType: 'Error',
      errorMessage: 'payment service down',
    });
    const [failed] = await gateway.async!.store.takeFromQueue('orders-failed', 1);
    assert.deepEqual(JSON.parse(failed!), one.Record, 'onFailure got the same record');

    const missing = await fetch(`${base}/${randomUUID()}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-amzn-errortype'), 'ResourceNotFoundException');

    broken = false;
    const redriven = await fetch(`${base}/${id}/redrive`, { method: 'POST' });
    assert.equal(redriven.status, 202);
    await eventually('redriven event ran', () =>
      seen.find((e) => (e as { order?: number }).order === 42),
    );
    const again = (await (await fetch(base)).json()) as { DeadLetters: unknown[] };
    assert.equal(again.DeadLetters.length, 0);
    assert.equal((await fetch(`${base}/${id}/redrive`, { method: 'POST' })).status, 404);
  });

  test('with Redis unreachable an Event call gets a 5xx ServiceException, never a 202, and sync calls still work', async () => {
    redis.disconnect(false);
    try {
      await assert.rejects(
        client.send(
          new InvokeCommand({ FunctionName: 'record', InvocationType: 'Event', Payload: '{}' }),
        ),
        (err: Error) =>
          err instanceof ServiceException &&
          err.name === 'ServiceException' &&
          (err as ServiceException).$metadata.httpStatusCode === 500,
      );
      const sync = await client.send(new InvokeCommand({ FunctionName: 'record', Payload: '{}' }));
      assert.equal(sync.StatusCode, 200);
      const metrics = await fetch(`${url}/metrics`);
      assert.equal(metrics.status, 200, '/metrics answers without Redis');
    } finally {
      await redis.connect();
    }
    const out = await client.send(
      new InvokeCommand({ FunctionName: 'record', InvocationType: 'Event', Payload: '{"back":1}' }),
    );
    assert.equal(out.StatusCode, 202);
    await eventually('runs once Redis is back', () =>
      seen.find((e) => (e as { back?: number }).back),
    );
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /selfless_async_queue_depth\{state="ready"\} \d+/);
    assert.match(text, /selfless_async_oldest_event_age_seconds \d/);
  });
});
