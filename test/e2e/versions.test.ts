// Versions, aliases and layers on the real cluster, deployed as a user of Lambda would: the
// AWS SDK creates a function from a zip, publishes two versions and a weighted alias;
// the AWS CLI publishes and lists the same; each version runs on worker pods of its
// own (a FunctionVersion and its Deployment), and the alias splits calls between them;
// a layer published with the CLI is extracted into /opt of a function's worker pods.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  InvokeCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { awsCliBinary } from '../services/local.ts';
import {
  deleteNamespace,
  e2eCluster,
  eventually,
  getJson,
  kubectl,
  lambdaClient,
  makeNamespace,
  type E2eCluster,
} from './support.ts';

const code = (answer: string) =>
  zipSync({
    'index.mjs': strToU8(
      `export const handler = async () => ({ answer: ${JSON.stringify(answer)}, version: process.env.AWS_LAMBDA_FUNCTION_VERSION });`,
    ),
  });

describe('versions and aliases on a real cluster', () => {
  let c: E2eCluster;
  let ns: string;
  let client: LambdaClient;

  const call = async (qualifier?: string) => {
    const out = await client.send(
      new InvokeCommand({ FunctionName: 'rollout', ...(qualifier && { Qualifier: qualifier }) }),
    );
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    const body = JSON.parse(Buffer.from(out.Payload!).toString()) as {
      answer: string;
      version: string;
    };
    return { executed: out.ExecutedVersion, ...body };
  };

  const aws = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)(awsCliBinary(), [...args, '--output', 'json'], {
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: c.gatewayUrl,
        AWS_DEFAULT_REGION: c.region,
        AWS_ACCESS_KEY_ID: ns,
        AWS_SECRET_ACCESS_KEY: 'cli',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    });
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-versions');
    // The access key names the namespace once it holds a function.
    await kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Function',
        metadata: { name: 'first' },
        spec: {
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          code: { inline: { 'index.mjs': '' } },
        },
      }),
    });
    client = lambdaClient(c, ns);
    await eventually('the namespace is known to the gateway', async () =>
      client.send(new InvokeCommand({ FunctionName: 'first', InvocationType: 'DryRun' })).then(
        () => true,
        () => undefined,
      ),
    );
  });

  after(async () => {
    client.destroy();
    await deleteNamespace(c, ns);
  });

  test('two published versions run on their own pods, a 10 % alias splits calls between them, and the CLI sees the same', async () => {
    await client.send(
      new CreateFunctionCommand({
        FunctionName: 'rollout',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: 'arn:aws:iam::000000000000:role/x',
        Code: { ZipFile: code('one') },
      }),
    );
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 60 }, { FunctionName: 'rollout' });
    const v1 = await client.send(new PublishVersionCommand({ FunctionName: 'rollout' }));
    assert.equal(v1.Version, '1');
    await client.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'rollout', ZipFile: code('two') }),
    );
    await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 60 }, { FunctionName: 'rollout' });
    const v2 = await aws('lambda', 'publish-version', '--function-name', 'rollout');
    assert.equal(v2.Version, '2');

    const versions = await getJson<{
      items: { metadata: { name: string }; spec: { version: string } }[];
    }>(c, ['functionversions.selfless.dev', '-n', ns]);
    assert.deepEqual(versions.items.map((v) => v.metadata.name).sort(), ['rollout-1', 'rollout-2']);

    // Each version answers with its own code, on its own workers.
    assert.deepEqual(await call('1'), { executed: '1', answer: 'one', version: '1' });
    assert.deepEqual(await call('2'), { executed: '2', answer: 'two', version: '2' });
    assert.deepEqual(await call(), { executed: '$LATEST', answer: 'two', version: '$LATEST' });
    const deployments = await getJson<{ items: { metadata: { name: string } }[] }>(c, [
      'deployments',
      '-n',
      ns,
    ]);
    const names = deployments.items.map((d) => d.metadata.name);
    for (const d of ['fn-rollout', 'fnv-rollout-1', 'fnv-rollout-2'])
      assert.ok(names.includes(d), d);

    await client.send(
      new CreateAliasCommand({
        FunctionName: 'rollout',
        Name: 'live',
        FunctionVersion: '2',
        RoutingConfig: { AdditionalVersionWeights: { '1': 0.1 } },
      }),
    );
    const aliases = await aws('lambda', 'list-aliases', '--function-name', 'rollout');
    assert.deepEqual(
      (aliases.Aliases as { Name: string; FunctionVersion: string }[]).map((a) => [
        a.Name,
        a.FunctionVersion,
      ]),
      [['live', '2']],
    );
    const counts: Record<string, number> = {};
    const calls = 200;
    for (let i = 0; i < calls; i++) {
      const r = await call('live');
      assert.equal(r.version, r.executed, 'the version that ran is the one reported');
      counts[r.executed!] = (counts[r.executed!] ?? 0) + 1;
    }
    // Binomial(200, 0.1): mean 20, sd 4.2; [6, 38] holds with p > 0.9999.
    const ones = counts['1'] ?? 0;
    assert.ok(ones >= 6 && ones <= 38, JSON.stringify(counts));
    assert.equal(ones + (counts['2'] ?? 0), calls);

    const status = await eventually('the version reports its workers', async () => {
      const v = await getJson<{
        status?: { functionArn?: string; conditions?: { type: string; status: string }[] };
      }>(c, ['functionversions.selfless.dev', 'rollout-1', '-n', ns]);
      return v.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')
        ? v.status
        : undefined;
    });
    assert.match(status.functionArn!, /:function:rollout:1$/);
  });

  test('a layer published with the AWS CLI is in /opt of the worker pods of a function created with it', async () => {
    const layer = zipSync({
      'nodejs/node_modules/greeting/index.js': strToU8('module.exports = "hello from a layer";'),
      'bin/tool': strToU8('#!/bin/sh\necho tool'),
    });
    const dir = mkdtempSync(join(tmpdir(), 'e2e-layer-'));
    writeFileSync(join(dir, 'layer.zip'), layer);
    const published = await aws(
      'lambda',
      'publish-layer-version',
      '--layer-name',
      'greetings',
      '--zip-file',
      `fileb://${join(dir, 'layer.zip')}`,
      '--compatible-runtimes',
      'nodejs20.x',
    );
    rmSync(dir, { recursive: true, force: true });
    const arn = published.LayerVersionArn as string;
    assert.match(arn, /:layer:greetings:1$/);
    await client.send(
      new CreateFunctionCommand({
        FunctionName: 'layered',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: 'arn:aws:iam::000000000000:role/x',
        Layers: [arn],
        Code: {
          ZipFile: zipSync({
            'index.js': strToU8(
              "const fs = require('node:fs'); exports.handler = async () => ({ greeting: require('greeting'), opt: fs.readdirSync('/opt').sort() });",
            ),
          }),
        },
      }),
    );
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 60 }, { FunctionName: 'layered' });
    const out = await client.send(new InvokeCommand({ FunctionName: 'layered' }));
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload!).toString()), {
      greeting: 'hello from a layer',
      opt: ['bin', 'nodejs'],
    });
    const lv = await getJson<{ items: { spec: { layerName: string; version: number } }[] }>(c, [
      'layerversions.selfless.dev',
      '-n',
      ns,
    ]);
    assert.deepEqual(
      lv.items.map((v) => `${v.spec.layerName}:${v.spec.version}`),
      ['greetings:1'],
    );
  });
});
