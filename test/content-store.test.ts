// Zips too big for a resource, end to end against the real API server: the gateway in
// cluster mode stores a 5 MB function zip and a 3 MB layer as chunk ConfigMaps and
// names them in the resources, GetFunction / GetLayerVersion answer as Lambda, the
// operator projects the chunks into the worker pod and refuses to start one whose
// chunk is missing, the init container's command joins and checks them from real
// files, and the chunks nothing names any more are collected.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  GetLayerVersionCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { GROUP, VERSION } from '../crds/schema.ts';
import { CHUNK_BYTES, CHUNK_KEY, CONTENT_SELECTOR, chunkNames } from '../lib/content-ref.ts';
import { putContent } from '../lib/kubernetes/content.ts';
import { layerObjectName } from '../lib/layer-version.ts';
import { makeLogger } from '../lib/log.ts';
import { signSigV4 } from '../lib/sigv4.ts';
import { composeGateway, type ComposedGateway } from '../gateway/compose.ts';
import { defaultRuntimeImages, runOperator, type RunningOperator } from '../operator/main.ts';
import { testServices } from './services/index.ts';
import { eventually, installCrds, makeNamespace, testKubeConfig } from './support/kubernetes.ts';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;

let kc: k8s.KubeConfig;
let custom: k8s.CustomObjectsApi;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let ns: string;
let composed: ComposedGateway;
let server: Server;
let client: LambdaClient;
let operator: RunningOperator;

/** Incompressible files, zipped at a fixed time: the same content is the same bytes. */
const bigZip = (seed: string, bytes: number, extra: Record<string, Uint8Array> = {}) =>
  Buffer.from(
    zipSync(
      {
        'index.mjs': strToU8(`export const handler = async () => ${JSON.stringify(seed)};`),
        'blob.bin': randomBytes(bytes),
        ...extra,
      },
      { mtime: new Date('2026-01-01T00:00:00Z') },
    ),
  );
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

const fnResource = async (name: string) =>
  (await custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functions',
    name,
  })) as {
    spec: {
      code: { zipFile?: string; contentRef?: { sha256: string; size: number; chunks: number } };
    };
    status?: { conditions?: { type: string; reason: string; message: string }[] };
  };

const chunksIn = async () =>
  (await core.listNamespacedConfigMap({ namespace: ns, labelSelector: CONTENT_SELECTOR })).items;

before(async () => {
  kc = await testKubeConfig();
  await installCrds(kc);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  ns = await makeNamespace(kc, 'content');
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
  operator = runOperator({
    kc,
    identity: 'op-content',
    leaseNamespace: ns,
    leaseName: 'selfless-operator',
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 300,
    watchNamespace: ns,
    gatewayUrl: 'http://selfless-gateway.selfless:8080',
    gatewayDemandUrl: 'http://127.0.0.1:9',
    tablesUrl: 'http://127.0.0.1:9',
    region: 'us-east-1',
    runtimeImages: defaultRuntimeImages('ghcr.io/selfless/runtime-', 'test'),
    agentImage: 'ghcr.io/selfless/selfless:test',
    demandIntervalMs: 60_000,
    scaleDownWindowMs: 1_500,
    maxReplicas: 5,
    contentCollectMs: 300,
    // Longer than a write takes between its chunks and its resource, short for a test.
    contentGraceMs: 3_000,
    log: makeLogger('operator', { level: 'error' }),
  });
});

after(async () => {
  await operator.stop();
  client.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await composed.close();
});

/** The chunk files as the projected volume lays them out: 0, 1, ... */
async function projectChunks(names: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'selfless-chunks-'));
  for (const [i, name] of names.entries()) {
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name });
    writeFileSync(join(dir, String(i)), Buffer.from(cm.binaryData![CHUNK_KEY]!, 'base64'));
  }
  return dir;
}

test('a 5 MB zip goes to the content store: the resource names it, GetFunction answers as Lambda, the pod projects its chunks and the init command rebuilds it', async () => {
  const code = bigZip('big-1', 5 * 1024 * 1024);
  const created = await client.send(
    new CreateFunctionCommand({
      FunctionName: 'big',
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/any',
      Code: { ZipFile: code },
    }),
  );
  assert.equal(created.CodeSha256, sha256(code).toString('base64'));
  assert.equal(created.CodeSize, code.length);
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 30 }, { FunctionName: 'big' });

  const { spec } = await fnResource('big');
  assert.equal(spec.code.zipFile, undefined);
  assert.deepEqual(
    { ...spec.code.contentRef, unzippedSize: undefined },
    {
      sha256: sha256(code).toString('hex'),
      size: code.length,
      chunks: Math.ceil(code.length / CHUNK_BYTES),
      unzippedSize: undefined,
    },
  );
  const ref = spec.code.contentRef!;
  const names = chunkNames(ref);
  const cms = await chunksIn();
  for (const n of names) {
    const cm = cms.find((c) => c.metadata?.name === n);
    assert.ok(cm, `chunk ${n}`);
    assert.equal(cm.immutable, true);
    assert.ok(Buffer.from(cm.binaryData![CHUNK_KEY]!, 'base64').length <= CHUNK_BYTES);
  }

  const got = await client.send(new GetFunctionCommand({ FunctionName: 'big' }));
  assert.equal(got.Configuration?.CodeSha256, created.CodeSha256);
  assert.equal(got.Configuration?.CodeSize, code.length);
  // The watch bringing back the stored form is not a change of its own.
  assert.equal(got.Configuration?.RevisionId, created.RevisionId);

  // The operator's worker pod: the chunks projected in order, joined and checked.
  const deployment = await eventually('the worker Deployment', async () =>
    (await apps.listNamespacedDeployment({ namespace: ns })).items.find(
      (d) => d.metadata?.name === 'fn-big',
    ),
  );
  const pod = deployment.spec!.template.spec!;
  const zipVolume = pod.volumes!.find((v) => v.name === 'zip')!;
  assert.deepEqual(
    zipVolume.projected!.sources!.map((s) => [s.configMap!.name, s.configMap!.items![0]!.path]),
    names.map((n, i) => [n, String(i)]),
  );
  const init = pod.initContainers!.find((c) => c.name === 'extract-code')!;
  const mount = init.volumeMounts!.find((m) => m.name === 'zip')!.mountPath;
  assert.deepEqual(init.args!.slice(0, 4), ['agent', 'extract-zip', '--sha256', ref.sha256]);

  // The init container's command, run on the files the projected volume would hold.
  const dir = await projectChunks(names);
  const args = init.args!.map((a) => a.replace(mount, dir));
  const task = join(dir, 'task');
  mkdirSync(task);
  args[args.length - 1] = task;
  await run(process.execPath, [join(root, 'bin', 'selfless.js'), ...args]);
  assert.match(readFileSync(join(task, 'index.mjs'), 'utf8'), /big-1/);
  assert.equal(readFileSync(join(task, 'blob.bin')).length, 5 * 1024 * 1024);

  // A corrupt chunk extracts nothing.
  const last = join(dir, String(ref.chunks - 1));
  const bytes = readFileSync(last);
  bytes[0] = bytes[0]! ^ 0xff;
  writeFileSync(last, bytes);
  const bad = join(dir, 'bad');
  mkdirSync(bad);
  args[args.length - 1] = bad;
  const err = (await run(process.execPath, [join(root, 'bin', 'selfless.js'), ...args]).catch(
    (e: unknown) => e,
  )) as { code: number; stderr: string };
  assert.equal(err.code, 1);
  assert.match(err.stderr, new RegExp(`expected ${ref.sha256}`));
  assert.ok(!existsSync(join(bad, 'index.mjs')));
});

test('UpdateFunctionCode to another big zip names new chunks; the old ones are collected, a second function with the same zip shares them', async () => {
  const before = (await fnResource('big')).spec.code.contentRef!;
  const code = bigZip('big-2', 5 * 1024 * 1024);
  const updated = await client.send(
    new UpdateFunctionCodeCommand({ FunctionName: 'big', ZipFile: code }),
  );
  assert.equal(updated.CodeSha256, sha256(code).toString('base64'));
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 30 }, { FunctionName: 'big' });
  const got = await client.send(new GetFunctionCommand({ FunctionName: 'big' }));
  assert.equal(got.Configuration?.CodeSha256, updated.CodeSha256);
  assert.equal(got.Configuration?.CodeSize, code.length);
  assert.equal(got.Configuration?.RevisionId, updated.RevisionId);
  const ref = (await fnResource('big')).spec.code.contentRef!;
  assert.equal(ref.sha256, sha256(code).toString('hex'));

  // Same zip, same objects: a second function reuses them.
  await client.send(
    new CreateFunctionCommand({
      FunctionName: 'twin',
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/any',
      Code: { ZipFile: code },
    }),
  );
  assert.deepEqual((await fnResource('twin')).spec.code.contentRef, ref);

  await eventually(
    'the first zip collected, the second kept',
    async () => {
      const names = new Set((await chunksIn()).map((c) => c.metadata!.name!));
      return (
        chunkNames(before).every((n) => !names.has(n)) && chunkNames(ref).every((n) => names.has(n))
      );
    },
    30_000,
  );
});

test('a missing chunk leaves the Function Ready=False with reason ContentNotFound until it is stored', async () => {
  const code = bigZip('kubectl', 2 * 1024 * 1024);
  const ref = {
    sha256: sha256(code).toString('hex'),
    size: code.length,
    chunks: Math.ceil(code.length / CHUNK_BYTES),
  };
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functions',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Function',
      metadata: { name: 'by-kubectl' },
      spec: { runtime: 'nodejs22.x', handler: 'index.handler', code: { contentRef: ref } },
    },
  });
  const notReady = await eventually('Ready=False ContentNotFound', async () => {
    const c = (await fnResource('by-kubectl')).status?.conditions?.find((x) => x.type === 'Ready');
    return c?.reason === 'ContentNotFound' ? c : undefined;
  });
  assert.match(notReady.message, new RegExp(`selfless-content-${ref.sha256}-0`));
  // The chunks as `selfless content put` (or any client) stores them.
  assert.deepEqual(await putContent(core, ns, code, new Date()), ref);
  await eventually('the worker Deployment once the chunks exist', async () =>
    (await apps.listNamespacedDeployment({ namespace: ns })).items.some(
      (d) => d.metadata?.name === 'fn-by-kubectl',
    ),
  );
});

test('a 3 MB layer goes to the content store: GetLayerVersion answers as Lambda, Content.Location serves the zip, and a function using it projects the layer chunks', async () => {
  const layer = bigZip('layer', 3 * 1024 * 1024, {
    'nodejs/node_modules/dep/index.js': strToU8('module.exports = 1'),
  });
  const published = await client.send(
    new PublishLayerVersionCommand({ LayerName: 'big-libs', Content: { ZipFile: layer } }),
  );
  assert.equal(published.Content?.CodeSha256, sha256(layer).toString('base64'));
  assert.equal(published.Content?.CodeSize, layer.length);
  const lv = (await custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'layerversions',
    name: layerObjectName('big-libs', 1),
  })) as {
    spec: { content: { zipFile?: string; contentRef?: { sha256: string; chunks: number } } };
  };
  assert.equal(lv.spec.content.zipFile, undefined);
  assert.equal(lv.spec.content.contentRef?.sha256, sha256(layer).toString('hex'));

  const got = await client.send(
    new GetLayerVersionCommand({ LayerName: 'big-libs', VersionNumber: 1 }),
  );
  assert.equal(got.Content?.CodeSha256, published.Content?.CodeSha256);
  assert.equal(got.Content?.CodeSize, layer.length);
  // Signed as the namespace's caller: the location is behind the API's own check.
  const location = new URL(got.Content!.Location!);
  const res = await fetch(location, {
    headers: signSigV4(
      { method: 'GET', url: location, headers: {}, body: '' },
      {
        credentials: { accessKeyId: ns, secretAccessKey: 'x' },
        region: 'us-east-1',
        service: 'lambda',
      },
    ),
  });
  const served = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, served.toString().slice(0, 300));
  assert.ok(served.equals(layer), `served ${served.length} bytes of ${layer.length}`);

  await client.send(
    new CreateFunctionCommand({
      FunctionName: 'with-layer',
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/any',
      Code: { ZipFile: zipSync({ 'index.mjs': strToU8('export const handler = () => 1') }) },
      Layers: [published.LayerVersionArn!],
    }),
  );
  const deployment = await eventually('the worker Deployment', async () =>
    (await apps.listNamespacedDeployment({ namespace: ns })).items.find(
      (d) => d.metadata?.name === 'fn-with-layer',
    ),
  );
  const pod = deployment.spec!.template.spec!;
  const chunks = pod.volumes!.find((v) => v.name === 'layer-0-chunks')!;
  assert.deepEqual(
    chunks.projected!.sources!.map((s) => s.configMap!.name),
    chunkNames(lv.spec.content.contentRef!),
  );
  const init = pod.initContainers!.find((c) => c.name === 'extract-layer-0')!;
  assert.deepEqual(init.args!.slice(0, 4), [
    'agent',
    'extract-zip',
    '--sha256',
    lv.spec.content.contentRef!.sha256,
  ]);
  assert.equal(init.args!.at(-1), '/opt');
  // The function's own small zip stays in the resource, as before.
  assert.ok((await fnResource('with-layer')).spec.code.zipFile, 'inline zip');
});
