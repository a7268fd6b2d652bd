// Lambda layers through the real AWS SDK client, functions running under the agent
// (the process driver): publish, a function requiring a module from its layers,
// order and overwrite, paging, permissions, and Lambda's errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  AddLayerVersionPermissionCommand,
  CreateFunctionCommand,
  DeleteLayerVersionCommand,
  GetFunctionCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  InvokeCommand,
  LambdaClient,
  ListLayersCommand,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  RemoveLayerVersionPermissionCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { makeLogger } from '../../lib/log.ts';
import { makeGateway, type Gateway } from '../app.ts';
import { makeProcessDriver } from '../drivers/process.ts';
import { MemoryLayerStore } from '../layers/store.ts';
import { FunctionRegistry } from '../registry.ts';

const ROLE = 'arn:aws:iam::000000000000:role/test';

let gateway: Gateway;
let server: Server;
let client: LambdaClient;

before(async () => {
  const log = makeLogger('test', { level: 'error' });
  const layers = new MemoryLayerStore();
  gateway = makeGateway({
    registry: new FunctionRegistry(),
    driver: makeProcessDriver({ log, env: {}, layers }),
    log,
    layers,
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

/** A fixed time: the same files are the same bytes whenever they are zipped. */
function zip(files: Record<string, string>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])), {
    mtime: new Date('2026-01-01T00:00:00Z'),
  });
}

async function publish(name: string, files: Record<string, string>, runtimes?: string[]) {
  return client.send(
    new PublishLayerVersionCommand({
      LayerName: name,
      Content: { ZipFile: zip(files) },
      ...(runtimes && { CompatibleRuntimes: runtimes as never }),
    }),
  );
}

async function createAndInvoke(
  name: string,
  runtime: string,
  handler: string,
  code: Record<string, string>,
  layers: string[],
) {
  await client.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: runtime as never,
      Handler: handler,
      Role: ROLE,
      Code: { ZipFile: zip(code) },
      Layers: layers,
    }),
  );
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 30 }, { FunctionName: name });
  return invoke(name);
}

async function invoke(name: string): Promise<unknown> {
  const out = await client.send(new InvokeCommand({ FunctionName: name }));
  assert.equal(out.FunctionError, undefined, new TextDecoder().decode(out.Payload));
  return JSON.parse(new TextDecoder().decode(out.Payload));
}

test('a Node.js function requires a module from its layer; GetFunction reports the layer', async () => {
  const files = { 'nodejs/node_modules/greet/index.js': 'exports.greet = (n) => `hello ${n}`;' };
  const v = await publish('greet', files, ['nodejs20.x']);
  const bytes = zip(files);
  assert.equal(v.LayerArn, 'arn:aws:lambda:us-east-1:000000000000:layer:greet');
  assert.equal(v.LayerVersionArn, `${v.LayerArn}:1`);
  assert.equal(v.Version, 1);
  assert.equal(v.Content?.CodeSize, bytes.length);
  assert.equal(v.Content?.CodeSha256, createHash('sha256').update(bytes).digest('base64'));
  assert.deepEqual(v.CompatibleRuntimes, ['nodejs20.x']);
  assert.match(v.CreatedDate!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  const location = await fetch(v.Content!.Location!);
  assert.deepEqual(new Uint8Array(await location.arrayBuffer()), bytes);

  const answer = await createAndInvoke(
    'layered',
    'nodejs20.x',
    'index.handler',
    {
      'index.js': `const { greet } = require('greet'); exports.handler = async () => ({ says: greet('layer'), opt: process.env.PATH.split(':').pop() });`,
    },
    [v.LayerVersionArn!],
  );
  assert.equal((answer as { says: string }).says, 'hello layer');
  assert.match((answer as { opt: string }).opt, /selfless-opt-layered-.*\/bin$/);
  const fn = await client.send(new GetFunctionCommand({ FunctionName: 'layered' }));
  assert.deepEqual(fn.Configuration?.Layers, [{ Arn: v.LayerVersionArn, CodeSize: bytes.length }]);

  const byArn = await client.send(new GetLayerVersionByArnCommand({ Arn: v.LayerVersionArn }));
  assert.equal(byArn.Version, 1);
  assert.equal(byArn.Content?.CodeSha256, v.Content?.CodeSha256);
});

test('layers are extracted in order: a later layer overwrites an earlier one, a version dir comes first', async () => {
  const first = await publish('first', {
    'nodejs/node_modules/which/index.js': 'module.exports = "first";',
    'nodejs/node_modules/only-first/index.js': 'module.exports = "kept";',
    'nodejs/node_modules/versioned/index.js': 'module.exports = "plain";',
  });
  const second = await publish('second', {
    'nodejs/node_modules/which/index.js': 'module.exports = "second";',
    'nodejs/node20/node_modules/versioned/index.js': 'module.exports = "node20";',
  });
  const answer = await createAndInvoke(
    'ordered',
    'nodejs20.x',
    'index.handler',
    {
      'index.js':
        'exports.handler = async () => [require("which"), require("only-first"), require("versioned")];',
    },
    [first.LayerVersionArn!, second.LayerVersionArn!],
  );
  assert.deepEqual(answer, ['second', 'kept', 'node20']);

  // UpdateFunctionConfiguration with the other order: the first layer wins now.
  await client.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: 'ordered',
      Layers: [second.LayerVersionArn!, first.LayerVersionArn!],
    }),
  );
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: 'ordered' });
  assert.deepEqual((await invoke('ordered')) as string[], ['first', 'kept', 'node20']);
});

function hasPython(): boolean {
  try {
    execFileSync('python3', ['--version']);
    return true;
  } catch {
    return false;
  }
}

test(
  'a Python function imports from python/ and python/lib/python3.X/site-packages',
  {
    skip: !hasPython(),
  },
  async () => {
    const v = await publish('pylayer', {
      'python/plain.py': 'WORD = "plain"\n',
      'python/lib/python3.12/site-packages/sited.py': 'WORD = "sited"\n',
    });
    const answer = await createAndInvoke(
      'pyfn',
      'python3.12',
      'app.handler',
      {
        'app.py':
          'import plain, sited\n\ndef handler(event, context):\n    return [plain.WORD, sited.WORD]\n',
      },
      [v.LayerVersionArn!],
    );
    assert.deepEqual(answer, ['plain', 'sited']);
  },
);

test('versions number from 1, are never reused, list newest first, page and filter', async () => {
  for (const r of ['python3.12', 'nodejs22.x', 'python3.12'])
    await publish('paged', { 'a.txt': r }, [r]);
  await client.send(new DeleteLayerVersionCommand({ LayerName: 'paged', VersionNumber: 3 }));
  const v4 = await publish('paged', { 'a.txt': 'again' });
  assert.equal(v4.Version, 4);
  const page1 = await client.send(
    new ListLayerVersionsCommand({ LayerName: 'paged', MaxItems: 2 }),
  );
  assert.deepEqual(
    page1.LayerVersions?.map((v) => v.Version),
    [4, 2],
  );
  assert.ok(page1.NextMarker);
  const page2 = await client.send(
    new ListLayerVersionsCommand({ LayerName: 'paged', Marker: page1.NextMarker }),
  );
  assert.deepEqual(
    page2.LayerVersions?.map((v) => v.Version),
    [1],
  );
  assert.equal(page2.NextMarker, undefined);
  const python = await client.send(
    new ListLayerVersionsCommand({ LayerName: 'paged', CompatibleRuntime: 'python3.12' }),
  );
  assert.deepEqual(
    python.LayerVersions?.map((v) => v.Version),
    [1],
  );
  const layers = await client.send(new ListLayersCommand({ CompatibleRuntime: 'nodejs22.x' }));
  assert.deepEqual(
    layers.Layers?.map((l) => [l.LayerName, l.LatestMatchingVersion?.Version]),
    [['paged', 2]],
  );
  await assert.rejects(
    client.send(new GetLayerVersionCommand({ LayerName: 'paged', VersionNumber: 3 })),
    {
      name: 'ResourceNotFoundException',
      message: 'Layer version arn:aws:lambda:us-east-1:000000000000:layer:paged:3 does not exist.',
    },
  );
});

test('permissions are kept and reported; errors in Lambda words', async () => {
  const v = await publish('shared', { 'a.txt': 'x' });
  const q = { LayerName: 'shared', VersionNumber: v.Version! };
  await assert.rejects(client.send(new GetLayerVersionPolicyCommand(q)), {
    name: 'ResourceNotFoundException',
    message: 'No policy is associated with the given resource.',
  });
  const added = await client.send(
    new AddLayerVersionPermissionCommand({
      ...q,
      StatementId: 'xaccount',
      Action: 'lambda:GetLayerVersion',
      Principal: '210987654321',
    }),
  );
  assert.deepEqual(JSON.parse(added.Statement!), {
    Sid: 'xaccount',
    Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::210987654321:root' },
    Action: 'lambda:GetLayerVersion',
    Resource: v.LayerVersionArn,
  });
  await assert.rejects(
    client.send(
      new AddLayerVersionPermissionCommand({
        ...q,
        StatementId: 'xaccount',
        Action: 'lambda:GetLayerVersion',
        Principal: '*',
      }),
    ),
    { name: 'ResourceConflictException' },
  );
  const policy = await client.send(new GetLayerVersionPolicyCommand(q));
  assert.equal(policy.RevisionId, added.RevisionId);
  assert.equal(JSON.parse(policy.Policy!).Statement.length, 1);
  await client.send(new RemoveLayerVersionPermissionCommand({ ...q, StatementId: 'xaccount' }));
  await assert.rejects(
    client.send(new RemoveLayerVersionPermissionCommand({ ...q, StatementId: 'xaccount' })),
    {
      name: 'ResourceNotFoundException',
      message: 'Statement xaccount is not found in resource policy.',
    },
  );

  const missing = 'arn:aws:lambda:us-east-1:000000000000:layer:shared:9';
  await assert.rejects(
    client.send(
      new CreateFunctionCommand({
        FunctionName: 'nolayer',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: ROLE,
        Code: { ZipFile: zip({ 'index.js': '' }) },
        Layers: [missing],
      }),
    ),
    { name: 'InvalidParameterValueException', message: `Layer version ${missing} does not exist.` },
  );
  await assert.rejects(
    client.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { S3Bucket: 'b', S3Key: 'k' },
      }),
    ),
    { name: 'InvalidParameterValueException' },
  );
});

test('code and layers over 250 MB unzipped, and more than 5 layers, are refused', async () => {
  // 130 MB of zeros deflates to a small zip; two versions of it are 260 MB unzipped.
  const big = zipSync({ 'big.bin': new Uint8Array(130 * 1024 * 1024) }, { level: 1 });
  const arns: string[] = [];
  for (let i = 0; i < 2; i++) {
    const v = await client.send(
      new PublishLayerVersionCommand({ LayerName: 'big', Content: { ZipFile: big } }),
    );
    arns.push(v.LayerVersionArn!);
  }
  const create = (layers: string[]) =>
    client.send(
      new CreateFunctionCommand({
        FunctionName: 'toobig',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: ROLE,
        Code: { ZipFile: zip({ 'index.js': 'exports.handler = async () => 1;' }) },
        Layers: layers,
      }),
    );
  await assert.rejects(create(arns), {
    name: 'InvalidParameterValueException',
    message: `Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is ${2 * 130 * 1024 * 1024 + 32} bytes.`,
  });
  await assert.rejects(create([...arns, ...arns, ...arns]), {
    name: 'InvalidParameterValueException',
    message: 'Cannot reference more than 5 layers.',
  });
});
