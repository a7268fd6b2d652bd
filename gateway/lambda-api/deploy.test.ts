// The deployment API through the real AWS SDK client, with functions running on
// the machine's node under the agent (the process driver): create from a zip,
// waiters, updates with revision checks, tags, versions, aliases, and Lambda's errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListTagsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
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

function code(answer: string): Uint8Array {
  return zipSync({
    'index.mjs': strToU8(
      `export const handler = async () => ({ answer: ${JSON.stringify(answer)}, v: process.env.AWS_LAMBDA_FUNCTION_VERSION, e: process.env.COLOUR ?? null });`,
    ),
  });
}

let gateway: Gateway;
let server: Server;
let url: string;
let client: LambdaClient;

before(async () => {
  const log = makeLogger('test', { level: 'error' });
  gateway = makeGateway({
    registry: new FunctionRegistry(),
    driver: makeProcessDriver({ log, env: {} }),
    log,
  });
  server = createServer(gateway.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new LambdaClient({
    endpoint: url,
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

async function invoke(name: string, qualifier?: string) {
  const out = await client.send(
    new InvokeCommand({ FunctionName: name, ...(qualifier && { Qualifier: qualifier }) }),
  );
  return {
    result: JSON.parse(Buffer.from(out.Payload!).toString()) as Record<string, unknown>,
    version: out.ExecutedVersion,
  };
}

async function create(name: string, answer = 'one') {
  return client.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: code(answer) },
    }),
  );
}

/** The error a call is refused with: name, status and Lambda's words. */
async function refusal(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata: { httpStatusCode: number } };
    return { name: e.name, status: e.$metadata.httpStatusCode, message: e.message };
  }
  assert.fail('expected a refusal');
}

describe('CreateFunction', () => {
  test('a zip is created Pending, becomes Active for the waiter and runs', async () => {
    const zip = code('one');
    const created = await client.send(
      new CreateFunctionCommand({
        FunctionName: 'made',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: ROLE,
        MemorySize: 256,
        Timeout: 10,
        Environment: { Variables: { COLOUR: 'blue' } },
        EphemeralStorage: { Size: 1024 },
        Tags: { team: 'a' },
        LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'WARN' },
        Code: { ZipFile: zip },
      }),
    );
    assert.equal(created.State, 'Pending');
    assert.equal(created.CodeSha256, createHash('sha256').update(zip).digest('base64'));
    assert.equal(created.CodeSize, zip.length);
    assert.equal(created.FunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:made');
    assert.equal(created.Version, '$LATEST');
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'made' });
    const got = await client.send(new GetFunctionCommand({ FunctionName: 'made' }));
    assert.equal(got.Configuration?.State, 'Active');
    assert.equal(got.Configuration?.LastUpdateStatus, 'Successful');
    assert.equal(got.Configuration?.MemorySize, 256);
    assert.equal(got.Configuration?.Timeout, 10);
    assert.equal(got.Configuration?.EphemeralStorage?.Size, 1024);
    assert.deepEqual(got.Configuration?.LoggingConfig, {
      LogFormat: 'JSON',
      ApplicationLogLevel: 'WARN',
      SystemLogLevel: 'INFO',
      LogGroup: '/aws/lambda/made',
    });
    assert.equal(got.Configuration?.Role, ROLE);
    assert.deepEqual(got.Tags, { team: 'a' });
    const listed = await client.send(new ListFunctionsCommand({}));
    assert.equal(
      listed.Functions?.find((f) => f.FunctionName === 'made')?.CodeSha256,
      created.CodeSha256,
      'ListFunctions reports what GetFunction does',
    );
    const { result, version } = await invoke('made');
    assert.deepEqual(result, { answer: 'one', v: '$LATEST', e: 'blue' });
    assert.equal(version, '$LATEST');
  });

  test('an existing name, a bad zip, a missing handler and out-of-range memory get Lambda’s errors', async () => {
    await create('taken');
    assert.deepEqual(await refusal(create('taken')), {
      name: 'ResourceConflictException',
      status: 409,
      message: 'Function already exist: taken',
    });
    assert.deepEqual(
      await refusal(
        client.send(
          new CreateFunctionCommand({
            FunctionName: 'badzip',
            Runtime: 'nodejs20.x',
            Handler: 'index.handler',
            Role: ROLE,
            Code: { ZipFile: strToU8('not a zip') },
          }),
        ),
      ),
      {
        name: 'InvalidParameterValueException',
        status: 400,
        message: 'Could not unzip uploaded file. Please check your file, then try to upload again.',
      },
    );
    assert.deepEqual(
      await refusal(
        client.send(
          new CreateFunctionCommand({
            FunctionName: 'nohandler',
            Runtime: 'nodejs20.x',
            Role: ROLE,
            Code: { ZipFile: code('x') },
          }),
        ),
      ),
      {
        name: 'InvalidParameterValueException',
        status: 400,
        message:
          'Runtime and Handler are mandatory parameters for functions created with deployment packages.',
      },
    );
    assert.deepEqual(
      await refusal(
        client.send(
          new CreateFunctionCommand({
            FunctionName: 'tiny',
            Runtime: 'nodejs20.x',
            Handler: 'index.handler',
            Role: ROLE,
            MemorySize: 100,
            Code: { ZipFile: code('x') },
          }),
        ),
      ),
      {
        name: 'ValidationException',
        status: 400,
        message:
          "1 validation error detected: Value '100' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128",
      },
    );
    assert.equal(
      (
        await refusal(
          client.send(
            new CreateFunctionCommand({
              FunctionName: 'reserved',
              Runtime: 'nodejs20.x',
              Handler: 'index.handler',
              Role: ROLE,
              Environment: { Variables: { AWS_REGION: 'x' } },
              Code: { ZipFile: code('x') },
            }),
          ),
        )
      ).message,
      'Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION',
    );
  });

  test('a field the action does not know is refused, naming the nearest known one', async () => {
    const res = await fetch(`${url}/2015-03-31/functions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        FunctionName: 'typo',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Code: { ZipFile: Buffer.from(code('x')).toString('base64') },
        Timout: 5,
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidRequestContentException');
    assert.deepEqual(await res.json(), {
      Type: 'User',
      message:
        'Could not parse request body into json: unknown field "Timout" (did you mean "Timeout"?)',
    });
    const nested = await fetch(`${url}/2015-03-31/functions/taken/configuration`, {
      method: 'PUT',
      body: JSON.stringify({ Environment: { Variable: { A: 'b' } } }),
    });
    assert.equal(
      ((await nested.json()) as { message: string }).message,
      'Could not parse request body into json: unknown field "Environment.Variable" (did you mean "Environment.Variables"?)',
    );
    await assert.rejects(client.send(new GetFunctionCommand({ FunctionName: 'typo' })), {
      name: 'ResourceNotFoundException',
    });
  });
});

describe('updates', () => {
  test('new code runs after waitUntilFunctionUpdatedV2; a stale RevisionId is refused', async () => {
    const created = await create('upd');
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'upd' });
    const before = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'upd' }));
    const updated = await client.send(
      new UpdateFunctionCodeCommand({
        FunctionName: 'upd',
        ZipFile: code('two'),
        RevisionId: before.RevisionId,
      }),
    );
    assert.equal(updated.LastUpdateStatus, 'InProgress');
    assert.notEqual(updated.CodeSha256, created.CodeSha256);
    assert.notEqual(updated.RevisionId, before.RevisionId);
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20 }, { FunctionName: 'upd' });
    assert.equal((await invoke('upd')).result.answer, 'two');

    assert.deepEqual(
      await refusal(
        client.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: 'upd',
            Timeout: 20,
            RevisionId: before.RevisionId,
          }),
        ),
      ),
      {
        name: 'PreconditionFailedException',
        status: 412,
        message:
          'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
      },
    );
    await client.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'upd',
        Environment: { Variables: { COLOUR: 'red' } },
      }),
    );
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20 }, { FunctionName: 'upd' });
    const cfg = await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'upd' }));
    assert.deepEqual(cfg.Environment?.Variables, { COLOUR: 'red' });
    assert.equal(cfg.Timeout, 3, 'members not given stay');
    assert.equal((await invoke('upd')).result.e, 'red');
  });

  test('tags are added, listed and removed; DeleteFunction removes the function', async () => {
    const { FunctionArn } = await create('tagged');
    await client.send(new TagResourceCommand({ Resource: FunctionArn, Tags: { a: '1', b: '2' } }));
    await client.send(new UntagResourceCommand({ Resource: FunctionArn, TagKeys: ['a'] }));
    assert.deepEqual((await client.send(new ListTagsCommand({ Resource: FunctionArn }))).Tags, {
      b: '2',
    });
    await client.send(new DeleteFunctionCommand({ FunctionName: 'tagged' }));
    assert.equal(
      (await refusal(client.send(new GetFunctionCommand({ FunctionName: 'tagged' })))).message,
      `Function not found: ${FunctionArn}`,
    );
  });
});

describe('versions and aliases', () => {
  test('a version keeps its code and configuration; Qualifier reaches it everywhere', async () => {
    await create('ver', 'first');
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'ver' });
    const v1 = await client.send(new PublishVersionCommand({ FunctionName: 'ver' }));
    assert.equal(v1.Version, '1');
    assert.equal(v1.FunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:ver:1');
    const again = await client.send(new PublishVersionCommand({ FunctionName: 'ver' }));
    assert.equal(again.Version, '1', 'an unchanged $LATEST publishes nothing new');

    await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'ver', ZipFile: code('second') }),
    );
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20 }, { FunctionName: 'ver' });
    assert.deepEqual(
      await refusal(
        client.send(new PublishVersionCommand({ FunctionName: 'ver', CodeSha256: v1.CodeSha256 })),
      ),
      {
        name: 'InvalidParameterValueException',
        status: 400,
        message: `CodeSHA256 (${v1.CodeSha256}) is different from current CodeSHA256 in $LATEST (${
          (await client.send(new GetFunctionConfigurationCommand({ FunctionName: 'ver' })))
            .CodeSha256
        }). Please try again with the current CodeSHA256.`,
      },
    );
    const v2 = await client.send(
      new PublishVersionCommand({ FunctionName: 'ver', Description: 'second' }),
    );
    assert.equal(v2.Version, '2');

    const one = await invoke('ver', '1');
    assert.equal(one.result.answer, 'first');
    assert.equal(one.version, '1');
    assert.equal((await invoke('ver:2')).version, '2', 'a qualified name is a qualifier too');
    assert.equal((await invoke('ver')).result.answer, 'second');
    const got = await client.send(new GetFunctionCommand({ FunctionName: 'ver', Qualifier: '1' }));
    assert.equal(got.Configuration?.Version, '1');
    assert.equal(got.Configuration?.CodeSha256, v1.CodeSha256);
    const versions = await client.send(new ListVersionsByFunctionCommand({ FunctionName: 'ver' }));
    assert.deepEqual(
      versions.Versions?.map((v) => v.Version),
      ['$LATEST', '1', '2'],
    );
    assert.equal(
      (await refusal(invoke('ver', '7'))).message,
      'Function not found: arn:aws:lambda:us-east-1:000000000000:function:ver:7',
    );
  });

  test('aliases name versions, route by weight and are updated and deleted', async () => {
    const alias = await client.send(
      new CreateAliasCommand({
        FunctionName: 'ver',
        Name: 'live',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } },
      }),
    );
    assert.equal(alias.AliasArn, 'arn:aws:lambda:us-east-1:000000000000:function:ver:live');
    assert.deepEqual(alias.RoutingConfig?.AdditionalVersionWeights, { '2': 0.1 });
    assert.equal(
      (
        await refusal(
          client.send(
            new CreateAliasCommand({ FunctionName: 'ver', Name: 'live', FunctionVersion: '1' }),
          ),
        )
      ).message,
      'Alias already exists: arn:aws:lambda:us-east-1:000000000000:function:ver:live',
    );
    assert.equal(
      (
        await refusal(
          client.send(
            new CreateAliasCommand({
              FunctionName: 'ver',
              Name: 'bad',
              FunctionVersion: '$LATEST',
              RoutingConfig: { AdditionalVersionWeights: { '2': 0.5 } },
            }),
          ),
        )
      ).message,
      '$LATEST is not supported for an alias pointing to more than 1 version',
    );
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 30 && seen.size < 2; i++) seen.add((await invoke('ver', 'live')).version);
    assert.ok(seen.has('1'), 'the main version answers');

    const updated = await client.send(
      new UpdateAliasCommand({
        FunctionName: 'ver',
        Name: 'live',
        FunctionVersion: '2',
        RoutingConfig: {},
        RevisionId: alias.RevisionId,
      }),
    );
    assert.equal(updated.RoutingConfig, undefined);
    assert.equal((await invoke('ver', 'live')).version, '2');
    assert.equal(
      (
        await refusal(
          client.send(
            new UpdateAliasCommand({
              FunctionName: 'ver',
              Name: 'live',
              RevisionId: alias.RevisionId,
            }),
          ),
        )
      ).name,
      'PreconditionFailedException',
    );
    const byAlias = await client.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'ver', Qualifier: 'live' }),
    );
    assert.equal(byAlias.Version, '2');
    assert.equal(
      (await client.send(new GetAliasCommand({ FunctionName: 'ver', Name: 'live' })))
        .FunctionVersion,
      '2',
    );
    assert.deepEqual(
      (await client.send(new ListAliasesCommand({ FunctionName: 'ver' }))).Aliases?.map(
        (a) => a.Name,
      ),
      ['live'],
    );
    assert.equal(
      (
        await refusal(
          client.send(new DeleteFunctionCommand({ FunctionName: 'ver', Qualifier: '2' })),
        )
      ).message,
      'Unable to delete version because the following aliases reference it: [live]',
    );
    await client.send(new DeleteAliasCommand({ FunctionName: 'ver', Name: 'live' }));
    await client.send(new DeleteFunctionCommand({ FunctionName: 'ver', Qualifier: '2' }));
    assert.deepEqual(
      (await client.send(new ListVersionsByFunctionCommand({ FunctionName: 'ver' }))).Versions?.map(
        (v) => v.Version,
      ),
      ['$LATEST', '1'],
    );
  });

  test('a deleted version’s number is never given again: the next one is the highest ever + 1', async () => {
    await create('counted', 'first');
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'counted' });
    assert.equal(
      (await client.send(new PublishVersionCommand({ FunctionName: 'counted' }))).Version,
      '1',
    );
    await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'counted', ZipFile: code('second') }),
    );
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20 }, { FunctionName: 'counted' });
    assert.equal(
      (await client.send(new PublishVersionCommand({ FunctionName: 'counted' }))).Version,
      '2',
    );
    await client.send(new DeleteFunctionCommand({ FunctionName: 'counted', Qualifier: '2' }));
    const next = await client.send(new PublishVersionCommand({ FunctionName: 'counted' }));
    assert.equal(next.Version, '3');
    assert.equal((await invoke('counted', '3')).result.answer, 'second');
    assert.equal(
      (await refusal(invoke('counted', '2'))).message,
      'Function not found: arn:aws:lambda:us-east-1:000000000000:function:counted:2',
    );
  });
});
