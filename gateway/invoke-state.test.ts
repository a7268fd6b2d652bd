// Invoke and InvokeWithResponseStream meet the function's State as GetFunction reports
// it: a function still being created (Pending) is refused as Lambda refuses it, and
// runs once Active. The catalog's
// settle step is held here, so the Pending window lasts as long as the test wants.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  InvokeWithResponseStreamCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { makeLogger } from '../lib/log.ts';
import { makeGateway, type Gateway } from './app.ts';
import { makeProcessDriver } from './drivers/process.ts';
import { FunctionCatalog } from './lambda-api/catalog.ts';
import { registryWriter } from './lambda-api/registry-writer.ts';
import { FunctionRegistry } from './registry.ts';

let gateway: Gateway;
let server: Server;
let client: LambdaClient;
const held: (() => void)[] = [];

before(async () => {
  const log = makeLogger('test', { level: 'error' });
  const registry = new FunctionRegistry();
  gateway = makeGateway({
    registry,
    catalog: new FunctionCatalog(registry, registryWriter(registry), {
      settle: (done) => void held.push(done),
    }),
    driver: makeProcessDriver({ log, env: {} }),
    log,
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

test('a Pending function is refused with 409 ResourceConflictException naming its state, and runs once Active', async () => {
  await client.send(
    new CreateFunctionCommand({
      FunctionName: 'young',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/test',
      Code: {
        ZipFile: zipSync({ 'index.mjs': strToU8('export const handler = async () => "ran";') }),
      },
    }),
  );
  const config = await client.send(new GetFunctionCommand({ FunctionName: 'young' }));
  assert.equal(config.Configuration?.State, 'Pending');
  for (const type of ['RequestResponse', 'Event', 'DryRun'] as const) {
    const refused = await client
      .send(new InvokeCommand({ FunctionName: 'young', InvocationType: type }))
      .then(
        () => assert.fail(`${type} ran while Pending`),
        (err: Error & { $metadata: { httpStatusCode: number } }) => err,
      );
    assert.deepEqual(
      [refused.name, refused.$metadata.httpStatusCode, refused.message],
      [
        'ResourceConflictException',
        409,
        'The operation cannot be performed at this time. The function is currently in the following state: Pending',
      ],
      type,
    );
  }

  for (const done of held.splice(0)) done();
  assert.equal(
    (await client.send(new GetFunctionCommand({ FunctionName: 'young' }))).Configuration?.State,
    'Active',
  );
  const ran = await client.send(new InvokeCommand({ FunctionName: 'young' }));
  assert.equal(Buffer.from(ran.Payload!).toString(), '"ran"');
});

test('InvokeWithResponseStream of a Pending function is refused before any stream with the same 409, and streams once Active', async () => {
  await client.send(
    new CreateFunctionCommand({
      FunctionName: 'young-stream',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/test',
      Code: {
        ZipFile: zipSync({ 'index.mjs': strToU8('export const handler = async () => "ran";') }),
      },
    }),
  );
  for (const type of ['RequestResponse', 'DryRun'] as const) {
    const refused = await client
      .send(
        new InvokeWithResponseStreamCommand({ FunctionName: 'young-stream', InvocationType: type }),
      )
      .then(
        () => assert.fail(`${type} streamed while Pending`),
        (err: Error & { $metadata: { httpStatusCode: number } }) => err,
      );
    assert.deepEqual(
      [refused.name, refused.$metadata.httpStatusCode, refused.message],
      [
        'ResourceConflictException',
        409,
        'The operation cannot be performed at this time. The function is currently in the following state: Pending',
      ],
      type,
    );
  }

  for (const done of held.splice(0)) done();
  const ran = await client.send(
    new InvokeWithResponseStreamCommand({ FunctionName: 'young-stream' }),
  );
  let body = '';
  for await (const event of ran.EventStream!) {
    if (event.PayloadChunk?.Payload) body += Buffer.from(event.PayloadChunk.Payload).toString();
  }
  assert.equal(body, '"ran"');
});
