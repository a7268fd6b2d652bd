// Put/Get/List/DeleteProvisionedConcurrencyConfig through the real AWS SDK client
// against a gateway with the process driver: the config lands in the function's
// spec, the version's environments are initialised before any call (the first one
// starts none), and Lambda's refusals.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteAliasCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetProvisionedConcurrencyConfigCommand,
  InvokeCommand,
  LambdaClient,
  ListProvisionedConcurrencyConfigsCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  PutProvisionedConcurrencyConfigCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { makeLogger } from '../../lib/log.ts';
import { makeGateway, type Gateway } from '../app.ts';
import { makeProcessDriver } from '../drivers/process.ts';
import { FunctionRegistry } from '../registry.ts';

const ROLE = 'arn:aws:iam::000000000000:role/test';

let gateway: Gateway;
let server: Server;
let client: LambdaClient;

before(async () => {
  const log = makeLogger('test', { level: 'error' });
  gateway = makeGateway({
    registry: new FunctionRegistry(),
    driver: makeProcessDriver({ log, env: {} }),
    log,
    quotas: { accountLimit: 200, unreservedFloor: 100 },
  });
  server = createServer(gateway.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  client = new LambdaClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
});
after(async () => {
  client.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await gateway.close();
});

async function deployed(name: string): Promise<void> {
  await client.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: {
        ZipFile: zipSync({
          'index.mjs': strToU8(
            'export const handler = async () => process.env.AWS_LAMBDA_FUNCTION_VERSION;',
          ),
        }),
      },
    }),
  );
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: name });
  await client.send(new PublishVersionCommand({ FunctionName: name }));
}

async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata: { httpStatusCode: number } };
    return { name: e.name, status: e.$metadata.httpStatusCode, message: e.message };
  }
  assert.fail('expected a refusal');
}

async function coldStarts(workerKey: string): Promise<number> {
  const m = await gateway.metrics.coldStarts.get();
  return m.values.filter((v) => v.labels.function === workerKey).reduce((a, v) => a + v.value, 0);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('provisioned concurrency configs', () => {
  test('a version is kept warm: READY once up, and the first call starts no environment', async () => {
    await deployed('pc');
    const put = await client.send(
      new PutProvisionedConcurrencyConfigCommand({
        FunctionName: 'pc',
        Qualifier: '1',
        ProvisionedConcurrentExecutions: 2,
      }),
    );
    assert.equal(put.$metadata.httpStatusCode, 202);
    assert.equal(put.RequestedProvisionedConcurrentExecutions, 2);
    assert.match(put.LastModified!, /^\d{4}-\d\d-\d\dT.*\+0000$/);
    assert.deepEqual(gateway.registry.get('pc')?.spec.provisionedConcurrencyConfigs, [
      { qualifier: '1', provisionedConcurrentExecutions: 2 },
    ]);
    await waitFor(async () => {
      const got = await client.send(
        new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'pc', Qualifier: '1' }),
      );
      return got.Status === 'READY' && got.AvailableProvisionedConcurrentExecutions === 2;
    });
    // The agent reports Init Duration on an environment's first event even when it
    // initialised before any call; what proves warmth is that no environment started.
    const before = await coldStarts('pc:1');
    assert.equal(before, 2, 'the two provisioned environments, started before any call');
    const out = await client.send(new InvokeCommand({ FunctionName: 'pc', Qualifier: '1' }));
    assert.equal(Buffer.from(out.Payload!).toString(), '"1"');
    assert.equal(await coldStarts('pc:1'), before, 'served by a provisioned environment');

    const listed = await client.send(
      new ListProvisionedConcurrencyConfigsCommand({ FunctionName: 'pc' }),
    );
    assert.equal(listed.ProvisionedConcurrencyConfigs?.length, 1);
    assert.equal(
      listed.ProvisionedConcurrencyConfigs?.[0]?.FunctionArn,
      'arn:aws:lambda:us-east-1:000000000000:function:pc:1',
    );
    assert.equal(listed.ProvisionedConcurrencyConfigs?.[0]?.Status, 'READY');

    const deleted = await client.send(
      new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'pc', Qualifier: '1' }),
    );
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.equal(gateway.registry.get('pc')?.spec.provisionedConcurrencyConfigs, undefined);
    const gone = await refusal(
      client.send(
        new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'pc', Qualifier: '1' }),
      ),
    );
    assert.deepEqual(gone, {
      name: 'ProvisionedConcurrencyConfigNotFoundException',
      status: 404,
      message: 'No Provisioned Concurrency Config found for this function',
    });
  });

  test("Lambda's refusals: $LATEST, unknown qualifiers, alias with its version, quotas; DeleteAlias takes the config", async () => {
    await deployed('pcx');
    await client.send(
      new CreateAliasCommand({ FunctionName: 'pcx', Name: 'live', FunctionVersion: '1' }),
    );
    const put = (qualifier: string, n: number) =>
      client.send(
        new PutProvisionedConcurrencyConfigCommand({
          FunctionName: 'pcx',
          Qualifier: qualifier,
          ProvisionedConcurrentExecutions: n,
        }),
      );
    assert.deepEqual(await refusal(put('$LATEST', 1)), {
      name: 'InvalidParameterValueException',
      status: 400,
      message:
        'Provisioned Concurrency Configs cannot be applied to unpublished function versions.',
    });
    const missing = await refusal(put('9', 1));
    assert.equal(missing.name, 'ResourceNotFoundException');
    assert.equal(
      missing.message,
      'Function not found: arn:aws:lambda:us-east-1:000000000000:function:pcx:9',
    );
    const zero = await refusal(put('1', 0));
    assert.equal(zero.name, 'ValidationException');

    await put('live', 1);
    const both = await refusal(put('1', 1));
    assert.equal(both.name, 'ResourceConflictException');
    assert.equal(both.status, 409);

    // 200 in the account, 100 kept unreserved: 100 may be provisioned, not 101.
    const floor = await refusal(put('live', 101));
    assert.equal(floor.name, 'InvalidParameterValueException');
    assert.match(floor.message, /below its minimum value of \[100\]/);

    await client.send(
      new PutFunctionConcurrencyCommand({ FunctionName: 'pcx', ReservedConcurrentExecutions: 3 }),
    );
    const reserved = await refusal(put('live', 4));
    assert.deepEqual(reserved, {
      name: 'InvalidParameterValueException',
      status: 400,
      message:
        'Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function',
    });
    assert.equal((await put('live', 3)).RequestedProvisionedConcurrentExecutions, 3);

    // Deleting the alias deletes its config, as on Lambda.
    await client.send(new DeleteAliasCommand({ FunctionName: 'pcx', Name: 'live' }));
    const left = await client.send(
      new ListProvisionedConcurrencyConfigsCommand({ FunctionName: 'pcx' }),
    );
    assert.deepEqual(left.ProvisionedConcurrencyConfigs, []);
  });

  test('a weighted alias splits its provisioned environments between its versions', async () => {
    await deployed('pcw');
    await client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'pcw', Timeout: 9 }));
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20 }, { FunctionName: 'pcw' });
    await client.send(new PublishVersionCommand({ FunctionName: 'pcw' }));
    await client.send(
      new CreateAliasCommand({
        FunctionName: 'pcw',
        Name: 'live',
        FunctionVersion: '2',
        RoutingConfig: { AdditionalVersionWeights: { '1': 0.5 } },
      }),
    );
    await client.send(
      new PutProvisionedConcurrencyConfigCommand({
        FunctionName: 'pcw',
        Qualifier: 'live',
        ProvisionedConcurrentExecutions: 2,
      }),
    );
    await waitFor(async () => {
      const got = await client.send(
        new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'pcw', Qualifier: 'live' }),
      );
      return got.Status === 'READY';
    });
    assert.equal(gateway.hub.idleWorkers('pcw:1').length, 1);
    assert.equal(gateway.hub.idleWorkers('pcw:2').length, 1);
  });
});
