// Zips too big for a resource on the real cluster: the gateway stores them as chunk
// ConfigMaps, the operator projects the chunks into the worker pod and its init
// containers join, check and extract them, for function code and for a layer alike.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  DeleteLayerVersionCommand,
  GetFunctionCommand,
  InvokeCommand,
  PublishLayerVersionCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { e2eCluster, getJson, lambdaClient, type E2eCluster } from './support.ts';

const mtime = new Date('2026-01-01T00:00:00Z');
const MiB = 1024 * 1024;

describe('the content store on a real cluster', () => {
  let c: E2eCluster;
  const name = `e2e-big-${Date.now()}`;
  let layerVersion: number | undefined;

  before(() => {
    c = e2eCluster();
  });

  after(async () => {
    const lambda = lambdaClient(c);
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => undefined);
    if (layerVersion !== undefined)
      await lambda
        .send(new DeleteLayerVersionCommand({ LayerName: name, VersionNumber: layerVersion }))
        .catch(() => undefined);
  });

  test('a 12 MB function zip with a 3 MB layer: created through the Lambda API, stored in chunks, and run with both extracted', async () => {
    const lambda = lambdaClient(c);
    // Random bytes do not compress: the zips are as big as their content.
    const layerZip = zipSync(
      {
        'nodejs/node_modules/biglib/index.js': [
          strToU8('module.exports = { hello: () => "from the layer" };'),
          { mtime },
        ],
        'nodejs/node_modules/biglib/blob.bin': [randomBytes(3 * MiB), { mtime }],
      },
      { level: 0 },
    );
    const layer = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: name,
        Content: { ZipFile: layerZip },
        CompatibleRuntimes: ['nodejs20.x'],
      }),
    );
    layerVersion = layer.Version;
    assert.equal(layer.Content?.CodeSize, layerZip.length);

    const zip = zipSync(
      {
        'index.mjs': [
          strToU8(`import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
export const handler = async () => ({
  code: statSync('/var/task/blob.bin').size,
  layer: statSync('/opt/nodejs/node_modules/biglib/blob.bin').size,
  hello: require('biglib').hello(),
});`),
          { mtime },
        ],
        'blob.bin': [randomBytes(12 * MiB), { mtime }],
      },
      { level: 0 },
    );
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: 'arn:aws:iam::000000000000:role/any',
        Code: { ZipFile: zip },
        Layers: [layer.LayerVersionArn!],
        Timeout: 60,
      }),
    );
    assert.equal(created.CodeSize, zip.length);
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 300 }, { FunctionName: name });

    const fn = await getJson<{
      spec: { code: { contentRef?: { sha256: string; chunks: number } } };
    }>(c, ['functions.selfless.dev', name, '-n', 'default']);
    const ref = fn.spec.code.contentRef;
    assert.ok(ref, 'the resource names the chunks, not the zip');
    const chunks = await getJson<{ items: { metadata: { name: string } }[] }>(c, [
      'configmaps',
      '-n',
      'default',
      '-l',
      'selfless.dev/content=chunk',
    ]);
    const mine = chunks.items.filter((i) => i.metadata.name.includes(ref.sha256));
    assert.equal(mine.length, ref.chunks);

    const got = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    assert.equal(got.Configuration?.CodeSha256, created.CodeSha256);
    assert.equal(got.Configuration?.CodeSize, zip.length);

    const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: '{}' }));
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload ?? []).toString()), {
      code: 12 * MiB,
      layer: 3 * MiB,
      hello: 'from the layer',
    });
  });
});
