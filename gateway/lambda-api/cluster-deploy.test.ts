// The deployment API of a gateway in cluster mode against the real API server: it
// writes Function resources by server-side apply (field manager selfless-lambda-api),
// serves them back through its watch, and shares the fields with kubectl by field
// ownership. Environments run as local processes here (no kubelet).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  DeleteFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand,
  GetFunctionConcurrencyCommand,
  PutFunctionConcurrencyCommand,
  DeleteLayerVersionCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetProvisionedConcurrencyConfigCommand,
  PutProvisionedConcurrencyConfigCommand,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  GetAliasCommand,
  ListVersionsByFunctionCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { GROUP, VERSION } from '../../crds/schema.ts';
import { makeLogger } from '../../lib/log.ts';
import { LAST_VERSION_ANNOTATION } from '../../lib/function-version.ts';
import { layerObjectName } from '../../lib/layer-version.ts';
import { accountIdForNamespace } from '../../lib/names.ts';
import { testServices } from '../../test/services/index.ts';
import {
  eventually,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../../test/support/kubernetes.ts';
import { composeGateway, type ComposedGateway } from '../compose.ts';
import { FIELD_MANAGER } from './kubernetes-writer.ts';

let custom: k8s.CustomObjectsApi;
let ns: string;
let composed: ComposedGateway;
let server: Server;
let client: LambdaClient;

const zip = (answer: string) =>
  // A fixed time: the same code is the same bytes whenever it is zipped.
  zipSync(
    { 'index.mjs': strToU8(`export const handler = async () => ${JSON.stringify(answer)};`) },
    { mtime: new Date('2026-01-01T00:00:00Z') },
  );

const resource = async (name: string) =>
  (await custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functions',
    name,
  })) as {
    spec: Record<string, unknown> & {
      code: { zipFile?: string };
      aliases?: unknown;
      layers?: string[];
      provisionedConcurrencyConfigs?: unknown;
      functionUrl?: unknown;
    };
    metadata: { managedFields?: { manager: string }[]; annotations?: Record<string, string> };
  };

before(async () => {
  const kc = await testKubeConfig();
  await installCrds(kc);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  ns = await makeNamespace(kc, 'api-deploy');
  // A bare name resolves in the caller's namespace once that namespace has a function.
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functions',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Function',
      metadata: { name: 'first' },
      spec: {
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code: { inline: { 'index.mjs': '' } },
      },
    },
  });
  const { kubeconfig } = await testServices();
  const log = makeLogger('test', { level: 'error' });
  composed = await composeGateway({
    log,
    functions: { kubernetes: { kubeconfig } },
    workers: { process: { env: {} } },
    eventsWithoutRedis: 'refuse',
    idleTimeoutMs: 60_000,
  });
  server = createServer(composed.gateway.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  await eventually('the namespace is known', async () =>
    composed.gateway.registry.list().some((f) => f.namespace === ns),
  );
  client = new LambdaClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: ns, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});
after(async () => {
  client.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await composed.close();
});

const answer = async (name: string) =>
  JSON.parse(
    Buffer.from((await client.send(new InvokeCommand({ FunctionName: name }))).Payload!).toString(),
  ) as unknown;

test('CreateFunction and UpdateFunctionCode write the Function resource, which then runs', async () => {
  const one = zip('one');
  const two = zip('two');
  await client.send(
    new CreateFunctionCommand({
      FunctionName: 'deployed',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/x',
      Timeout: 7,
      Code: { ZipFile: one },
    }),
  );
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 30 }, { FunctionName: 'deployed' });
  const created = await resource('deployed');
  assert.equal(created.spec.timeout, 7);
  assert.equal(created.spec.code.zipFile, Buffer.from(one).toString('base64'));
  assert.ok(created.metadata.managedFields?.some((f) => f.manager === FIELD_MANAGER));
  assert.equal(await answer('deployed'), 'one');

  await client.send(new UpdateFunctionCodeCommand({ FunctionName: 'deployed', ZipFile: two }));
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: 'deployed' });
  assert.equal((await resource('deployed')).spec.code.zipFile, Buffer.from(two).toString('base64'));
  await eventually('the new code answers', async () => (await answer('deployed')) === 'two');
});

test('kubectl and the API share a Function by field ownership', async () => {
  const objects = k8s.KubernetesObjectApi.makeApiClient(await testKubeConfig());
  const kubectl = (spec: Record<string, unknown>, force: boolean) =>
    objects.patch(
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Function',
        metadata: { name: 'deployed', namespace: ns },
        spec,
      } as k8s.KubernetesObject,
      undefined,
      undefined,
      'kubectl',
      force,
      k8s.PatchStrategy.ServerSideApply,
    );
  // A field the API set is the API's: applying it without --force-conflicts is refused.
  const conflict = await kubectl({ timeout: 9 }, false).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(conflict instanceof k8s.ApiException && conflict.code === 409, String(conflict));
  // A field the API never sets is kubectl's, and an API update leaves it alone.
  await kubectl({ reservedConcurrentExecutions: 3 }, false);
  await client.send(
    new UpdateFunctionConfigurationCommand({ FunctionName: 'deployed', Timeout: 11 }),
  );
  const after = await resource('deployed');
  assert.equal(after.spec.timeout, 11);
  assert.equal(after.spec.reservedConcurrentExecutions, 3);
});

test('PublishVersion writes an owned FunctionVersion that runs its snapshot, and another replica serves it', async () => {
  const v1 = await client.send(
    new PublishVersionCommand({ FunctionName: 'deployed', Description: 'first cut' }),
  );
  assert.equal(v1.Version, '1');
  assert.equal(v1.Description, 'first cut');
  const version = (await custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functionversions',
    name: 'deployed-1',
  })) as {
    spec: { functionName: string; version: string; definition: { code: { zipFile: string } } };
    metadata: { ownerReferences?: { kind: string; name: string }[] };
  };
  assert.equal(version.spec.functionName, 'deployed');
  assert.equal(version.spec.definition.code.zipFile, Buffer.from(zip('two')).toString('base64'));
  assert.deepEqual(
    version.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`),
    ['Function/deployed'],
  );
  // Nothing changed since: Lambda hands back the same version.
  const again = await client.send(new PublishVersionCommand({ FunctionName: 'deployed' }));
  assert.equal(again.Version, '1');

  await client.send(
    new UpdateFunctionCodeCommand({ FunctionName: 'deployed', ZipFile: zip('three') }),
  );
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: 'deployed' });
  await eventually('$LATEST runs the new code', async () => (await answer('deployed')) === 'three');
  const byVersion = await client.send(
    new InvokeCommand({ FunctionName: 'deployed', Qualifier: '1' }),
  );
  assert.equal(byVersion.ExecutedVersion, '1');
  assert.equal(JSON.parse(Buffer.from(byVersion.Payload!).toString()), 'two');
  const v2 = await client.send(new PublishVersionCommand({ FunctionName: 'deployed' }));
  assert.equal(v2.Version, '2');

  await client.send(
    new CreateAliasCommand({
      FunctionName: 'deployed',
      Name: 'live',
      FunctionVersion: '2',
      Description: 'production',
      RoutingConfig: { AdditionalVersionWeights: { '1': 0.25 } },
    }),
  );
  const declared = (await resource('deployed')).spec.aliases;
  assert.deepEqual(declared, [
    {
      name: 'live',
      functionVersion: '2',
      description: 'production',
      routingConfig: { additionalVersionWeights: { '1': 0.25 } },
    },
  ]);

  // A second replica knows only what the resources say.
  const other = await replica();
  try {
    const versions = await other.client.send(
      new ListVersionsByFunctionCommand({ FunctionName: 'deployed' }),
    );
    assert.deepEqual(
      versions.Versions?.map((v) => [v.Version, v.Description ?? '']),
      [
        ['$LATEST', ''],
        ['1', 'first cut'],
        ['2', ''],
      ],
    );
    const alias = await other.client.send(
      new GetAliasCommand({ FunctionName: 'deployed', Name: 'live' }),
    );
    assert.equal(alias.FunctionVersion, '2');
    assert.deepEqual(alias.RoutingConfig?.AdditionalVersionWeights, { '1': 0.25 });
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const r = await other.client.send(
        new InvokeCommand({ FunctionName: 'deployed', Qualifier: 'live' }),
      );
      seen.add(r.ExecutedVersion!);
    }
    assert.deepEqual([...seen].sort(), ['1', '2']);
    // Its own publish takes the next number.
    const v3 = await other.client.send(
      new PublishVersionCommand({ FunctionName: 'deployed', Description: 'from the other' }),
    );
    assert.equal(v3.Version, '2', 'nothing changed since 2: the same version comes back');
  } finally {
    await other.close();
  }
  await client.send(new DeleteAliasCommand({ FunctionName: 'deployed', Name: 'live' }));
  assert.equal((await resource('deployed')).spec.aliases, undefined);
  await client.send(new DeleteFunctionCommand({ FunctionName: 'deployed', Qualifier: '1' }));
  await eventually('version 1 is gone', async () =>
    custom
      .getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'functionversions',
        name: 'deployed-1',
      })
      .then(
        () => false,
        (e: unknown) => e instanceof k8s.ApiException && e.code === 404,
      ),
  );
});

test("PublishLayerVersion writes a LayerVersion in the account's namespace that another replica lists, and CreateFunction puts Layers in the resource", async () => {
  const layerZip = zipSync({
    'nodejs/node_modules/greeting/index.js': strToU8('module.exports = "hi";'),
  });
  const published = await client.send(
    new PublishLayerVersionCommand({
      LayerName: 'Shared_Libs',
      Content: { ZipFile: layerZip },
      CompatibleRuntimes: ['nodejs20.x'],
    }),
  );
  const account = accountIdForNamespace(ns);
  assert.equal(
    published.LayerVersionArn,
    `arn:aws:lambda:us-east-1:${account}:layer:Shared_Libs:1`,
  );
  const lv = (await custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'layerversions',
    name: layerObjectName('Shared_Libs', 1),
  })) as { spec: { layerName: string; version: number; content: { zipFile: string } } };
  assert.equal(lv.spec.layerName, 'Shared_Libs');
  assert.equal(lv.spec.content.zipFile, Buffer.from(layerZip).toString('base64'));

  // Right after publishing, on the same replica: no wait for the watch.
  await client.send(
    new CreateFunctionCommand({
      FunctionName: 'layered',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/x',
      Code: { ZipFile: zip('layered') },
      Layers: [published.LayerVersionArn!],
    }),
  );
  assert.deepEqual((await resource('layered')).spec.layers, [published.LayerVersionArn]);

  const other = await replica(() => true);
  try {
    await eventually('the other replica lists the layer', async () => {
      const got = await other.client.send(
        new ListLayerVersionsCommand({ LayerName: 'Shared_Libs' }),
      );
      return got.LayerVersions?.length === 1 ? true : undefined;
    });
    const second = await other.client.send(
      new PublishLayerVersionCommand({ LayerName: 'Shared_Libs', Content: { ZipFile: layerZip } }),
    );
    assert.equal(second.Version, 2, 'the number after the one the first replica took');
    await other.client.send(
      new DeleteLayerVersionCommand({ LayerName: 'Shared_Libs', VersionNumber: 1 }),
    );
    await eventually('the first replica sees the deletion', async () => {
      const got = await client.send(new ListLayerVersionsCommand({ LayerName: 'Shared_Libs' }));
      return got.LayerVersions?.map((v) => v.Version).join() === '2' ? true : undefined;
    });
  } finally {
    await other.close();
  }
  await client.send(new DeleteFunctionCommand({ FunctionName: 'layered' }));
});

test('PutProvisionedConcurrencyConfig writes spec.provisionedConcurrencyConfigs, which another replica reports', async () => {
  await client.send(
    new PutProvisionedConcurrencyConfigCommand({
      FunctionName: 'deployed',
      Qualifier: '2',
      ProvisionedConcurrentExecutions: 1,
    }),
  );
  assert.deepEqual((await resource('deployed')).spec.provisionedConcurrencyConfigs, [
    { qualifier: '2', provisionedConcurrentExecutions: 1 },
  ]);
  const other = await replica(
    (gw) =>
      gw.gateway.registry.get(`${ns}/deployed`)?.spec.provisionedConcurrencyConfigs !== undefined,
  );
  try {
    const got = await other.client.send(
      new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'deployed', Qualifier: '2' }),
    );
    assert.equal(got.RequestedProvisionedConcurrentExecutions, 1);
  } finally {
    await other.close();
  }
  await client.send(
    new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'deployed', Qualifier: '2' }),
  );
  assert.equal((await resource('deployed')).spec.provisionedConcurrencyConfigs, undefined);
});

test("PutFunctionConcurrency writes spec.reservedConcurrentExecutions, which another replica applies; the API's next write keeps it; DeleteFunctionConcurrency there removes it", async () => {
  await client.send(
    new PutFunctionConcurrencyCommand({
      FunctionName: 'deployed',
      ReservedConcurrentExecutions: 3,
    }),
  );
  assert.equal((await resource('deployed')).spec.reservedConcurrentExecutions, 3);
  await client.send(
    new UpdateFunctionConfigurationCommand({ FunctionName: 'deployed', Timeout: 8 }),
  );
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 60 }, { FunctionName: 'deployed' });
  assert.equal((await resource('deployed')).spec.reservedConcurrentExecutions, 3);
  const other = await replica(
    (gw) => gw.gateway.registry.get(`${ns}/deployed`)?.spec.reservedConcurrentExecutions === 3,
  );
  try {
    const got = await other.client.send(
      new GetFunctionConcurrencyCommand({ FunctionName: 'deployed' }),
    );
    assert.equal(got.ReservedConcurrentExecutions, 3);
    await other.client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'deployed' }));
  } finally {
    await other.close();
  }
  assert.equal((await resource('deployed')).spec.reservedConcurrentExecutions, undefined);
  await eventually('the first replica sees the reservation gone', async () => {
    const got = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'deployed' }));
    return got.ReservedConcurrentExecutions === undefined;
  });
});

test("a deleted version's number is never given again: the Function counts them in an annotation that the API's applies keep and another replica reads", async () => {
  const count = async () =>
    (await resource('counted')).metadata.annotations?.[LAST_VERSION_ANNOTATION];
  await client.send(
    new CreateFunctionCommand({
      FunctionName: 'counted',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/x',
      Code: { ZipFile: zip('a') },
    }),
  );
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 30 }, { FunctionName: 'counted' });
  const publish = (c: LambdaClient) =>
    c.send(new PublishVersionCommand({ FunctionName: 'counted' })).then((v) => v.Version);
  const update = async (answer: string) => {
    await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'counted', ZipFile: zip(answer) }),
    );
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: 'counted' });
  };
  assert.equal(await publish(client), '1');
  await update('b');
  assert.equal(await publish(client), '2');
  await client.send(new DeleteFunctionCommand({ FunctionName: 'counted', Qualifier: '2' }));
  assert.equal(await count(), '2');
  // A server-side apply of $LATEST by the API, which does not name the annotation.
  await update('c');
  assert.equal(await count(), '2');

  // A replica that never saw version 2: only the count says it was.
  const other = await replica(
    (gw) =>
      gw.gateway.registry.get(`${ns}/counted`)?.spec.code.zipFile ===
        Buffer.from(zip('c')).toString('base64') &&
      gw.gateway.registry.versionsOf(`${ns}/counted`).length === 1,
  );
  try {
    assert.equal(await publish(other.client), '3');
  } finally {
    await other.close();
  }
  assert.equal(await count(), '3');
  await client.send(new DeleteFunctionCommand({ FunctionName: 'counted' }));
});

test('CreateFunctionUrlConfig writes spec.functionUrl, so another replica serves the URL; DeleteFunctionUrlConfig removes it', async () => {
  await client.send(
    new CreateFunctionUrlConfigCommand({
      FunctionName: 'deployed',
      AuthType: 'NONE',
      InvokeMode: 'RESPONSE_STREAM',
    }),
  );
  assert.deepEqual((await resource('deployed')).spec.functionUrl, {
    authType: 'NONE',
    invokeMode: 'RESPONSE_STREAM',
  });
  const other = await replica(
    (gw) => gw.gateway.registry.get(`${ns}/deployed`)?.spec.functionUrl !== undefined,
  );
  try {
    const got = await other.client.send(
      new GetFunctionUrlConfigCommand({ FunctionName: 'deployed' }),
    );
    assert.equal(got.InvokeMode, 'RESPONSE_STREAM');
    // The URL names the other replica (the host its API was called on), which serves it.
    const reply = await fetch(`${got.FunctionUrl}any/path`);
    assert.equal(reply.status, 200);
    assert.equal(await reply.json(), 'three');
  } finally {
    await other.close();
  }
  await client.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'deployed' }));
  assert.equal((await resource('deployed')).spec.functionUrl, undefined);
});

test("an alias's Function URL travels with the alias in spec.aliases, so another replica serves it", async () => {
  await client.send(
    new CreateAliasCommand({ FunctionName: 'deployed', Name: 'web', FunctionVersion: '$LATEST' }),
  );
  const created = await client.send(
    new CreateFunctionUrlConfigCommand({
      FunctionName: 'deployed',
      Qualifier: 'web',
      AuthType: 'NONE',
    }),
  );
  assert.match(created.FunctionArn!, /:function:deployed:web$/);
  assert.deepEqual((await resource('deployed')).spec.aliases, [
    {
      name: 'web',
      functionVersion: '$LATEST',
      functionUrl: { authType: 'NONE', invokeMode: 'BUFFERED' },
    },
  ]);
  const other = await replica(
    (gw) => gw.gateway.registry.get(`${ns}/deployed`)?.spec.aliases?.[0]?.functionUrl !== undefined,
  );
  try {
    const got = await other.client.send(
      new GetFunctionUrlConfigCommand({ FunctionName: 'deployed', Qualifier: 'web' }),
    );
    const reply = await fetch(`${got.FunctionUrl}from/the/other`);
    assert.equal(reply.status, 200);
    assert.equal(await reply.json(), 'three');
  } finally {
    await other.close();
  }
  await client.send(
    new DeleteFunctionUrlConfigCommand({ FunctionName: 'deployed', Qualifier: 'web' }),
  );
  assert.deepEqual((await resource('deployed')).spec.aliases, [
    { name: 'web', functionVersion: '$LATEST' },
  ]);
  await client.send(new DeleteAliasCommand({ FunctionName: 'deployed', Name: 'web' }));
});

test('DeleteFunction deletes the resource', async () => {
  await client.send(new DeleteFunctionCommand({ FunctionName: 'deployed' }));
  const gone = await resource('deployed').then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(gone instanceof k8s.ApiException && gone.code === 404);
});

async function replica(
  ready: (gw: ComposedGateway) => boolean = (gw) =>
    gw.gateway.registry.versionsOf(`${ns}/deployed`).length === 2,
): Promise<{ client: LambdaClient; close(): Promise<void> }> {
  const { kubeconfig } = await testServices();
  const gw = await composeGateway({
    log: makeLogger('test', { level: 'error' }),
    functions: { kubernetes: { kubeconfig } },
    workers: { process: { env: {} } },
    eventsWithoutRedis: 'refuse',
    idleTimeoutMs: 60_000,
  });
  const srv = createServer(gw.gateway.app).listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  await eventually('the other replica is ready', async () => ready(gw));
  const c = new LambdaClient({
    endpoint: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: ns, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  return {
    client: c,
    close: async () => {
      c.destroy();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
      await gw.close();
    },
  };
}
