// SnapStart through the real AWS SDK client against a gateway with the process
// driver: the SnapStart member of Create/UpdateFunctionConfiguration, reported back
// as Lambda reports it (OptimizationStatus On only on a published version), and
// Lambda's refusals in its words.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type CreateFunctionCommandInput,
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

const PY = { 'app.py': strToU8('def handler(event, context):\n    return "ok"\n') };

function create(name: string, extra: Partial<CreateFunctionCommandInput>) {
  return client.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'python3.12',
      Handler: 'app.handler',
      Role: ROLE,
      Code: { ZipFile: zipSync(PY) },
      ...extra,
    }),
  );
}

async function refusal(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  const err = (await p.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  )) as Error;
  return { name: err.name, message: err.message };
}

test('SnapStart ApplyOn is stored; OptimizationStatus is On only on a published version', async () => {
  const created = await create('snap-fields', { SnapStart: { ApplyOn: 'PublishedVersions' } });
  assert.deepEqual(created.SnapStart, { ApplyOn: 'PublishedVersions', OptimizationStatus: 'Off' });
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'snap-fields' });
  const v = await client.send(new PublishVersionCommand({ FunctionName: 'snap-fields' }));
  assert.deepEqual(v.SnapStart, { ApplyOn: 'PublishedVersions', OptimizationStatus: 'On' });
  const got = await client.send(
    new GetFunctionConfigurationCommand({ FunctionName: 'snap-fields', Qualifier: v.Version }),
  );
  assert.deepEqual(got.SnapStart, { ApplyOn: 'PublishedVersions', OptimizationStatus: 'On' });

  const off = await client.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: 'snap-fields',
      SnapStart: { ApplyOn: 'None' },
    }),
  );
  assert.deepEqual(off.SnapStart, { ApplyOn: 'None', OptimizationStatus: 'Off' });
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20 }, { FunctionName: 'snap-fields' });
  const v2 = await client.send(new PublishVersionCommand({ FunctionName: 'snap-fields' }));
  assert.deepEqual(v2.SnapStart, { ApplyOn: 'None', OptimizationStatus: 'Off' });
  // The published version keeps the setting it was published with.
  const first = await client.send(
    new GetFunctionConfigurationCommand({ FunctionName: 'snap-fields', Qualifier: v.Version }),
  );
  assert.equal(first.SnapStart?.OptimizationStatus, 'On');
});

test("SnapStart refusals are Lambda's", async () => {
  assert.deepEqual(
    await refusal(
      create('snap-node', {
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        SnapStart: { ApplyOn: 'PublishedVersions' },
      }),
    ),
    {
      name: 'InvalidParameterValueException',
      message: 'nodejs22.x is not supported for SnapStart enabled functions.',
    },
  );
  assert.deepEqual(
    await refusal(create('snap-enum', { SnapStart: { ApplyOn: 'Always' as 'None' } })),
    {
      name: 'ValidationException',
      message:
        "1 validation error detected: Value 'Always' at 'snapStart.applyOn' failed to satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]",
    },
  );
  // None is accepted on any runtime.
  await create('snap-none-node', {
    Runtime: 'nodejs22.x',
    Handler: 'index.handler',
    SnapStart: { ApplyOn: 'None' },
  });
  await create('snap-later', {});
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'snap-later' });
  assert.equal(
    (
      await refusal(
        client.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: 'snap-later',
            SnapStart: { ApplyOn: 'PublishedVersions' },
            EphemeralStorage: { Size: 1024 },
          }),
        ),
      )
    ).name,
    'InvalidParameterValueException',
  );
});
