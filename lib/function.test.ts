import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFunctionManifest, parseFunctionSpec } from './function.ts';

const base = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  code: { inline: { 'index.mjs': '' } },
};

test("a minimal spec gets Lambda's defaults", () => {
  const r = parseFunctionSpec(base);
  assert.ok(r.ok);
  assert.equal(r.value.memorySize, 128);
  assert.equal(r.value.timeout, 3);
  assert.equal(r.value.ephemeralStorage.size, 512);
  assert.equal(r.value.provisionedConcurrentExecutions, 0);
  assert.equal(r.value.reservedConcurrentExecutions, undefined);
  assert.deepEqual(r.value.functionEventInvokeConfig, {
    maximumRetryAttempts: 2,
    maximumEventAgeInSeconds: 21600,
    destinationConfig: {},
  });
});

const refused: [string, Record<string, unknown>, RegExp][] = [
  ['runtime', { runtime: 'java17' }, /spec\.runtime: must be one of nodejs20\.x/],
  ['memory below', { memorySize: 64 }, /spec\.memorySize: must be between 128 and 10240, got 64/],
  ['memory above', { memorySize: 10241 }, /spec\.memorySize: must be between 128 and 10240/],
  ['timeout', { timeout: 901 }, /spec\.timeout: must be between 1 and 900, got 901/],
  ['fractional timeout', { timeout: 1.5 }, /spec\.timeout: must be an integer/],
  [
    '/tmp',
    { ephemeralStorage: { size: 511 } },
    /spec\.ephemeralStorage\.size: must be between 512 and 10240/,
  ],
  [
    'environment size',
    { environment: { variables: { BIG: 'x'.repeat(4094) } } },
    /total size 4097 bytes exceeds the limit of 4096 bytes/,
  ],
  [
    'environment name',
    { environment: { variables: { '1X': 'y' } } },
    /spec\.environment\.variables\.1X: names must start with a letter/,
  ],
  [
    'two code sources',
    { code: { inline: {}, zipFile: 'UEs=' } },
    /spec\.code: must set exactly one of .* \(got inline, zipFile\)/,
  ],
  ['no code', { code: {} }, /spec\.code: must set exactly one of .* \(got none\)/],
  [
    'escaping file',
    { code: { inline: { '../x.js': '' } } },
    /spec\.code\.inline: file names must be relative paths/,
  ],
  ['handler', { handler: 'nodot' }, /spec\.handler: must look like file\.function/],
  [
    'provisioned above reserved',
    { reservedConcurrentExecutions: 1, provisionedConcurrentExecutions: 2 },
    /spec\.provisionedConcurrentExecutions: 2 exceeds reservedConcurrentExecutions \(1\)/,
  ],
  [
    'retries',
    { functionEventInvokeConfig: { maximumRetryAttempts: 3 } },
    /maximumRetryAttempts: must be between 0 and 2/,
  ],
  [
    'event age',
    { functionEventInvokeConfig: { maximumEventAgeInSeconds: 59 } },
    /maximumEventAgeInSeconds: must be between 60 and 21600/,
  ],
  [
    'destination',
    { functionEventInvokeConfig: { destinationConfig: { onFailure: { destination: 'sns:x' } } } },
    /onFailure\.destination: must be function:<name>, queue:<name>/,
  ],
  [
    'route path',
    { triggers: [{ http: { method: 'GET', path: 'users' } }] },
    /spec\.triggers\[0\]\.http\.path: must start with \//,
  ],
  [
    'route method',
    { triggers: [{ http: { method: 'FETCH', path: '/x' } }] },
    /spec\.triggers\[0\]\.http\.method: must be one of GET/,
  ],
  ['greedy not last', { triggers: [{ http: { path: '/{a+}/b' } }] }, /greedy \{name\+\} last/],
  [
    'schedule grammar',
    { triggers: [{ schedule: { expression: 'cron(0 12 * * * *)' } }] },
    /spec\.triggers\[0\]\.schedule\.expression: .*\?/,
  ],
  [
    'schedule unit',
    { triggers: [{ schedule: { expression: 'rate(1 minutes)' } }] },
    /spec\.triggers\[0\]\.schedule\.expression/,
  ],
  [
    'function URL auth type',
    { functionUrl: { authType: 'OPEN' } },
    /spec\.functionUrl\.authType: must be NONE or AWS_IAM/,
  ],
  [
    'function URL invoke mode',
    { functionUrl: { authType: 'NONE', invokeMode: 'STREAM' } },
    /spec\.functionUrl\.invokeMode: must be BUFFERED or RESPONSE_STREAM/,
  ],
  [
    'function URL CORS max age',
    { functionUrl: { authType: 'NONE', cors: { maxAge: 86401 } } },
    /spec\.functionUrl\.cors\.maxAge: must be between 0 and 86400/,
  ],
];

test('a function URL gets BUFFERED by default and keeps its CORS', () => {
  const r = parseFunctionSpec({
    ...base,
    functionUrl: { authType: 'AWS_IAM', cors: { allowOrigins: ['*'], maxAge: 10 } },
  });
  assert.ok(r.ok);
  assert.deepEqual(r.value.functionUrl, {
    authType: 'AWS_IAM',
    invokeMode: 'BUFFERED',
    cors: { allowOrigins: ['*'], maxAge: 10 },
  });
});

for (const [what, change, message] of refused) {
  test(`refused with the field and the limit named: ${what}`, () => {
    const r = parseFunctionSpec({ ...base, ...change });
    assert.ok(!r.ok, 'refused');
    assert.match(r.errors.map((e) => `${e.field}: ${e.message}`).join('; '), message);
  });
}

test('a manifest needs the API version, the kind and a Lambda-style name', () => {
  const r = parseFunctionManifest({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bad name!' },
    spec: base,
  });
  assert.ok(!r.ok);
  const fields = r.errors.map((e) => e.field);
  assert.deepEqual(fields, ['apiVersion', 'kind', 'metadata.name']);
  const ok = parseFunctionManifest(
    {
      apiVersion: 'selfless.dev/v1alpha1',
      kind: 'Function',
      metadata: { name: 'fn_1-a', namespace: 'team' },
      spec: base,
    },
    '/src',
  );
  assert.ok(ok.ok);
  assert.equal(ok.value.namespace, 'team');
  assert.equal(ok.value.baseDir, '/src');
});
