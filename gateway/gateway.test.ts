// The gateway's API seen through the real AWS SDK client, with environments that
// run JavaScript handlers in this process (the agent and real runtimes are tested
// end to end under test/). What is under test here: Lambda's wire format, quotas,
// the hub and the pool.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  DeleteFunctionConcurrencyCommand,
  GetAccountSettingsCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  PutFunctionConcurrencyCommand,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { parseFunctionSpec, type FunctionDefinition } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import type { WorkerChannel, WorkerIdentity } from '../lib/worker-channel/channel.ts';
import { makeGateway, type Gateway } from './app.ts';
import type { Driver, EnvironmentHandle } from './pool.ts';
import { FunctionRegistry } from './registry.ts';

type Handler = (event: unknown) => Promise<unknown>;

/** Environments whose "runtime" is a JavaScript function in this process. */
function inlineDriver(
  gw: () => Gateway,
  handlers: Record<string, Handler>,
  started: string[],
): Driver {
  return {
    name: 'inline',
    async start(
      fn: FunctionDefinition,
      worker: WorkerIdentity,
      hub: WorkerChannel,
    ): Promise<EnvironmentHandle> {
      started.push(fn.name);
      const abort = new AbortController();
      const exited = (async () => {
        for (;;) {
          let inv;
          try {
            inv = await hub.next(worker, abort.signal);
          } catch {
            return;
          }
          const t0 = Date.now();
          try {
            const out = await handlers[fn.name]!(JSON.parse(inv.payload.toString()));
            await hub.complete(worker, {
              requestId: inv.requestId,
              payload: Buffer.from(JSON.stringify(out)),
              durationMs: Date.now() - t0,
              billedDurationMs: Date.now() - t0 + 1,
              maxMemoryUsedMB: 1,
              ...(inv.logTail && {
                logResult: Buffer.from(`END RequestId: ${inv.requestId}\n`).toString('base64'),
              }),
            });
          } catch (err) {
            await hub.complete(worker, {
              requestId: inv.requestId,
              payload: Buffer.from(
                JSON.stringify({ errorType: 'Error', errorMessage: (err as Error).message }),
              ),
              functionError: 'Unhandled',
              durationMs: 0,
              billedDurationMs: 1,
              maxMemoryUsedMB: 1,
            });
          }
        }
      })();
      return { exited, stop: async () => abort.abort() };
    },
  };
}

function define(name: string, spec: Record<string, unknown> = {}): FunctionDefinition {
  const parsed = parseFunctionSpec({
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: { inline: {} },
    ...spec,
  });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return { name, namespace: 'default', spec: parsed.value };
}

describe('gateway Lambda API', () => {
  const registry = new FunctionRegistry();
  const started: string[] = [];
  let gateway: Gateway;
  let server: Server;
  let client: LambdaClient;
  let release: () => void = () => undefined;

  before(async () => {
    registry.put(define('echo'));
    registry.put(define('fails'));
    registry.put(define('slow', { reservedConcurrentExecutions: 4 }));
    registry.put(define('warm', { provisionedConcurrentExecutions: 2 }));
    registry.put(define('never', { reservedConcurrentExecutions: 0 }));
    const gate = new Promise<void>((r) => (release = r));
    gateway = makeGateway({
      registry,
      log: makeLogger('gateway', { level: 'error' }),
      quotas: { accountLimit: 200, unreservedFloor: 100 },
      driver: inlineDriver(
        () => gateway,
        {
          echo: async (e) => e,
          fails: async () => {
            throw new Error('boom');
          },
          slow: async () => {
            await gate;
            return 'done';
          },
          warm: async () => 'warm',
          never: async () => 'unreachable',
        },
        started,
      ),
    });
    server = gateway.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    client = new LambdaClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  after(async () => {
    release();
    client.destroy();
    await gateway.close();
    server.closeAllConnections();
    server.close();
  });

  test('a synchronous invoke returns the payload, the executed version and Tail logs', async () => {
    const out = await client.send(
      new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{"a":1}'), LogType: 'Tail' }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, '$LATEST');
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload!).toString()), { a: 1 });
    assert.match(Buffer.from(out.LogResult!, 'base64').toString(), /^END RequestId: /);
    assert.equal(out.FunctionError, undefined);
  });

  test('a function error answers 200 with X-Amz-Function-Error: Unhandled and the error document', async () => {
    const out = await client.send(new InvokeCommand({ FunctionName: 'fails' }));
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, 'Unhandled');
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload!).toString()), {
      errorType: 'Error',
      errorMessage: 'boom',
    });
  });

  test('DryRun answers 204 without running anything', async () => {
    const before = started.length;
    const out = await client.send(
      new InvokeCommand({ FunctionName: 'never', InvocationType: 'DryRun' }),
    );
    assert.equal(out.StatusCode, 204);
    assert.equal(started.length, before);
  });

  test('an unknown function, a full ARN of one and an unknown qualifier get ResourceNotFoundException', async () => {
    await assert.rejects(
      client.send(new InvokeCommand({ FunctionName: 'nope' })),
      (err: unknown) => {
        assert.ok(err instanceof ResourceNotFoundException);
        assert.equal(err.$metadata.httpStatusCode, 404);
        assert.match(
          err.message,
          /Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope/,
        );
        return true;
      },
    );
    const byArn = await client.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:echo',
        Payload: Buffer.from('1'),
      }),
    );
    assert.equal(Buffer.from(byArn.Payload!).toString(), '1');
    await assert.rejects(
      client.send(new InvokeCommand({ FunctionName: 'echo', Qualifier: 'prod' })),
      ResourceNotFoundException,
    );
  });

  test('a payload over 6 MB is refused with 413 RequestTooLargeException', async () => {
    await assert.rejects(
      client.send(
        new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.alloc(6 * 1024 * 1024 + 1, 32) }),
      ),
      (err: { name: string; $metadata: { httpStatusCode: number } }) => {
        assert.equal(err.name, 'RequestTooLargeException');
        assert.equal(err.$metadata.httpStatusCode, 413);
        return true;
      },
    );
  });

  test('a payload that is not JSON gets InvalidRequestContentException', async () => {
    await assert.rejects(
      client.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{nope') })),
      (err: { name: string; $metadata: { httpStatusCode: number } }) => {
        assert.equal(err.name, 'InvalidRequestContentException');
        assert.equal(err.$metadata.httpStatusCode, 400);
        return true;
      },
    );
  });

  test('a reservation of 0 throttles every call with the reserved-limit reason', async () => {
    await assert.rejects(
      client.send(new InvokeCommand({ FunctionName: 'never' })),
      (err: unknown) => {
        assert.ok(err instanceof TooManyRequestsException);
        assert.equal(err.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
        assert.equal(err.$metadata.httpStatusCode, 429);
        return true;
      },
    );
  });

  test('10x the reserved concurrency at a slow function: exactly the reservation runs, the rest get 429', async () => {
    const calls = Array.from({ length: 40 }, () =>
      client.send(new InvokeCommand({ FunctionName: 'slow' })).then(
        () => 'ok',
        (err: unknown) => (err instanceof TooManyRequestsException ? 'throttled' : String(err)),
      ),
    );
    // Every call is admitted or refused before the slow ones are let go.
    await waitFor(() => gateway.metrics.throttles.get().then((m) => sum(m, 'slow') === 36));
    release();
    const results = await Promise.all(calls);
    assert.equal(results.filter((r) => r === 'ok').length, 4);
    assert.equal(results.filter((r) => r === 'throttled').length, 36);
  });

  test('provisioned concurrency keeps environments initialised before any call', async () => {
    await waitFor(async () => gateway.hub.idleWorkers('warm').length === 2);
    const before = started.filter((n) => n === 'warm').length;
    await client.send(new InvokeCommand({ FunctionName: 'warm' }));
    assert.equal(
      started.filter((n) => n === 'warm').length,
      before,
      'the first call found a warm environment',
    );
  });

  test('concurrency APIs: put, get, delete, and the unreserved floor is enforced', async () => {
    const put = await client.send(
      new PutFunctionConcurrencyCommand({ FunctionName: 'echo', ReservedConcurrentExecutions: 50 }),
    );
    assert.equal(put.ReservedConcurrentExecutions, 50);
    const got = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'echo' }));
    assert.equal(got.ReservedConcurrentExecutions, 50);
    const settings = await client.send(new GetAccountSettingsCommand({}));
    assert.equal(settings.AccountLimit?.ConcurrentExecutions, 200);
    assert.equal(settings.AccountLimit?.UnreservedConcurrentExecutions, 200 - 50 - 4 - 0);
    await assert.rejects(
      client.send(
        new PutFunctionConcurrencyCommand({
          FunctionName: 'fails',
          ReservedConcurrentExecutions: 47,
        }),
      ),
      (err: { name: string; message: string }) => {
        assert.equal(err.name, 'InvalidParameterValueException');
        assert.match(err.message, /below its minimum value of \[100\]/);
        return true;
      },
    );
    await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'echo' }));
    const none = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'echo' }));
    assert.equal(none.ReservedConcurrentExecutions, undefined);
  });

  test('GetFunction and ListFunctions describe the declared functions', async () => {
    const fn = await client.send(new GetFunctionCommand({ FunctionName: 'slow' }));
    assert.equal(fn.Configuration?.FunctionName, 'slow');
    assert.equal(fn.Configuration?.Runtime, 'nodejs20.x');
    assert.equal(fn.Configuration?.Timeout, 3);
    assert.equal(fn.Configuration?.MemorySize, 128);
    assert.equal(fn.Concurrency?.ReservedConcurrentExecutions, 4);
    const page1 = await client.send(new ListFunctionsCommand({ MaxItems: 3 }));
    assert.deepEqual(
      page1.Functions?.map((f) => f.FunctionName),
      ['echo', 'fails', 'never'],
    );
    const page2 = await client.send(
      new ListFunctionsCommand({ MaxItems: 3, Marker: page1.NextMarker }),
    );
    assert.deepEqual(
      page2.Functions?.map((f) => f.FunctionName),
      ['slow', 'warm'],
    );
    assert.equal(page2.NextMarker, undefined);
  });

  test('Event invocations are refused with a clear ServiceException until the async queue is configured', async () => {
    await assert.rejects(
      client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'Event' })),
      (err: { name: string; message: string; $metadata: { httpStatusCode: number } }) => {
        assert.equal(err.name, 'ServiceException');
        assert.equal(err.$metadata.httpStatusCode, 501);
        assert.match(err.message, /Asynchronous invocation/);
        return true;
      },
    );
  });
});

function sum(
  metric: { values: { labels: Record<string, unknown>; value: number }[] },
  fn: string,
): number {
  return metric.values.filter((v) => v.labels.function === fn).reduce((a, v) => a + v.value, 0);
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}
