// Which container of a worker pod carries which variables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { functionObject as fn, workerConfig as cfg } from '../../test/support/function-object.ts';
import { makeDeployment } from './deployment.ts';

test('the environment: user variables, Lambda variables, endpoints; reserved names cannot be overridden', () => {
  const variables = { TABLE: 'users', AWS_REGION: 'mars-1', PASSWORD: 'pa$$(word)' };
  // An image function's container gets the whole environment: no agent starts its runtime.
  const image = makeDeployment(
    fn({ code: { imageURI: 'registry.example/f:1' }, environment: { variables } }),
    cfg,
  ).spec!.template.spec!.containers[0]!;
  const env = Object.fromEntries(image.env!.map((e) => [e.name, e.value]));
  assert.equal(env.TABLE, 'users');
  assert.equal(env.AWS_REGION, 'eu-west-1');
  assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'f');
  assert.equal(env._HANDLER, 'index.handler');
  assert.equal(env.AWS_ENDPOINT_URL_LAMBDA, 'http://gw:8080');
  assert.equal(env.AWS_ENDPOINT_URL_DYNAMODB, 'http://tables:8000');
  assert.equal(env.AWS_ACCESS_KEY_ID, 'team-a');
  assert.equal(image.env!.filter((e) => e.name === 'AWS_REGION').length, 1);
  assert.equal(env.AWS_LAMBDA_RUNTIME_API, '127.0.0.1:9001');
  assert.equal(env.HOME, '/tmp');
  // The kubelet would expand `$(word)` and `$$`: escaped, the values arrive verbatim.
  assert.equal(env.PASSWORD, 'pa$$$$(word)');
  assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '$$LATEST');
  assert.deepEqual(image.env!.find((e) => e.name === 'AWS_LAMBDA_LOG_STREAM_NAME')?.valueFrom, {
    fieldRef: { fieldPath: 'metadata.name' },
  });
  // A managed runtime's agent computes the environment from the manifest: its own
  // container holds what it hands on, never the function's variables.
  const worker = makeDeployment(
    fn({ code: { inline: { 'index.mjs': '' } }, environment: { variables } }),
    cfg,
  ).spec!.template.spec!.containers[0]!;
  assert.deepEqual(Object.fromEntries(worker.env!.map((e) => [e.name, e.value])), {
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_LAMBDA: 'http://gw:8080',
    AWS_ENDPOINT_URL_DYNAMODB: 'http://tables:8000',
    AWS_ACCESS_KEY_ID: 'team-a',
    AWS_SECRET_ACCESS_KEY: 'selfless',
    SELFLESS_NAMESPACE: 'team-a',
  });
});
