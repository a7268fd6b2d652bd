import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  GetAccountSettingsCommand,
  GetFunctionRecursionConfigCommand,
  InvokeCommand,
  LambdaClient,
  PutFunctionRecursionConfigCommand,
} from '@aws-sdk/client-lambda';
import { parseFunctionSpec } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import { makeGateway, type Gateway } from './app.ts';
import { makeSigV4Authenticator, parseAccessKeys } from './auth.ts';
import { FunctionRegistry } from './registry.ts';

let gateway: Gateway;
let server: Server;
let endpoint: string;

before(async () => {
  const registry = new FunctionRegistry();
  const spec = parseFunctionSpec({
    runtime: 'nodejs20.x',
    handler: 'i.h',
    code: { inline: {} },
    reservedConcurrentExecutions: 0,
  });
  assert.ok(spec.ok);
  registry.put({ name: 'fn', namespace: 'default', spec: spec.value });
  gateway = makeGateway({
    registry,
    log: makeLogger('gateway', { level: 'error' }),
    authenticate: makeSigV4Authenticator(parseAccessKeys('AKIDGOOD:s3cret/with+chars')!),
  });
  server = gateway.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const client = (accessKeyId: string, secretAccessKey: string) =>
  new LambdaClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });

test('calls signed by the AWS SDK with a configured key pass (body hash and ARN path included)', async () => {
  const ok = await client('AKIDGOOD', 's3cret/with+chars').send(new GetAccountSettingsCommand({}));
  assert.equal(ok.AccountLimit?.ConcurrentExecutions, 1000);
  // Signed correctly, so the call reaches the quota check: a reservation of 0 throttles.
  await assert.rejects(
    client('AKIDGOOD', 's3cret/with+chars').send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:eu-west-1:000000000000:function:fn',
        Payload: Buffer.from('{"x":1}'),
      }),
    ),
    { name: 'TooManyRequestsException' },
  );
});

test('a wrong secret gets InvalidSignatureException, an unknown key UnrecognizedClientException', async () => {
  await assert.rejects(
    client('AKIDGOOD', 'wrong').send(new GetAccountSettingsCommand({})),
    (err: { name: string; $metadata: { httpStatusCode: number } }) => {
      assert.equal(err.name, 'InvalidSignatureException');
      assert.equal(err.$metadata.httpStatusCode, 403);
      return true;
    },
  );
  await assert.rejects(client('AKIDOTHER', 'x').send(new GetAccountSettingsCommand({})), {
    name: 'UnrecognizedClientException',
  });
});

test('Put/GetFunctionRecursionConfig (the 2024-08-31 paths) are checked as every Lambda API call', async () => {
  const good = client('AKIDGOOD', 's3cret/with+chars');
  const put = await good.send(
    new PutFunctionRecursionConfigCommand({ FunctionName: 'fn', RecursiveLoop: 'Allow' }),
  );
  assert.equal(put.RecursiveLoop, 'Allow');
  const got = await good.send(new GetFunctionRecursionConfigCommand({ FunctionName: 'fn' }));
  assert.equal(got.RecursiveLoop, 'Allow');
  await assert.rejects(
    client('AKIDGOOD', 'wrong').send(
      new PutFunctionRecursionConfigCommand({ FunctionName: 'fn', RecursiveLoop: 'Terminate' }),
    ),
    { name: 'InvalidSignatureException' },
  );
});

test('an unsigned call gets 403 MissingAuthenticationTokenException', async () => {
  const res = await fetch(`${endpoint}/2016-08-19/account-settings`);
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
});

test('access keys must be AKID:SECRET pairs', () => {
  assert.deepEqual(parseAccessKeys('a:b, c:d:e'), { a: 'b', c: 'd:e' });
  assert.equal(parseAccessKeys(''), undefined);
  assert.throws(() => parseAccessKeys('nocolon'), /AKID:SECRET/);
});
