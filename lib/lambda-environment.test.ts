import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFunctionSpec } from './function.ts';
import { lambdaEnvironment, platformVariables, RESERVED_VARIABLES } from './lambda-environment.ts';

function env(variables: Record<string, string>, runtime = true) {
  const spec = parseFunctionSpec({
    runtime: 'python3.12',
    handler: 'app.main',
    code: { directory: '.' },
  });
  assert.ok(spec.ok);
  return lambdaEnvironment({
    // Past the parser, which refuses some of these names (`_HANDLER`) outright.
    fn: { name: 'f', spec: { ...spec.value, environment: { variables } } },
    region: 'eu-west-1',
    runtimeApi: '127.0.0.1:9001',
    taskRoot: '/var/task',
    tmpDir: '/tmp',
    ...(runtime && { logStreamName: 's', runtime: { dir: '/rt', binDir: '/py/bin' } }),
    platform: {
      AWS_ENDPOINT_URL_DYNAMODB: 'http://tables:8000',
      AWS_ACCESS_KEY_ID: 'team-a',
      AWS_REGION: 'us-west-2',
    },
  });
}

test('a function may change the defaults and endpoints, never a reserved name', () => {
  const mine = {
    LANG: 'C.UTF-8',
    PATH: '/mine',
    HOME: '/tmp/home',
    AWS_ENDPOINT_URL_DYNAMODB: 'http://elsewhere',
  };
  assert.deepEqual({ ...env(mine) }, { ...env({}), ...mine });
  for (const name of RESERVED_VARIABLES) {
    assert.equal(env({ [name]: 'x' })[name], env({})[name], name);
  }
  // The platform's region loses to the worker's too: one region per environment.
  assert.equal(env({}).AWS_REGION, 'eu-west-1');
  assert.equal(env({}).AWS_ACCESS_KEY_ID, 'team-a');
});

test("Lambda's values, and what an image's own ENV decides", () => {
  const managed = env({});
  assert.equal(managed.TZ, ':UTC');
  assert.equal(managed.HOME, '/tmp');
  assert.equal(managed.PATH, '/py/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin');
  assert.equal(
    managed.LD_LIBRARY_PATH,
    '/lib64:/usr/lib64:/rt:/rt/lib:/var/task:/var/task/lib:/opt/lib',
  );
  assert.equal(managed.LAMBDA_RUNTIME_DIR, '/rt');
  assert.equal(managed.AWS_EXECUTION_ENV, 'AWS_Lambda_python3.12');
  const image = env({}, false);
  for (const name of [
    'PATH',
    'LD_LIBRARY_PATH',
    'LAMBDA_RUNTIME_DIR',
    'AWS_LAMBDA_LOG_STREAM_NAME',
  ]) {
    assert.equal(image[name], undefined, name);
  }
});

test('a worker hands on only the region, credentials and endpoints of its own environment', () => {
  assert.deepEqual(
    platformVariables({
      AWS_REGION: 'r',
      AWS_ENDPOINT_URL: 'http://all',
      AWS_ENDPOINT_URL_LAMBDA: 'http://gw',
      AWS_SECRET_ACCESS_KEY: 's',
      SELFLESS_WORKER_TOKEN: 'secret',
      NODE_OPTIONS: '--inspect',
      HOME: '/root',
    }),
    {
      AWS_REGION: 'r',
      AWS_ENDPOINT_URL: 'http://all',
      AWS_ENDPOINT_URL_LAMBDA: 'http://gw',
      AWS_SECRET_ACCESS_KEY: 's',
    },
  );
});

test('a JSON-format function is told AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL (INFO unless set); Text: neither', () => {
  const parsed = (loggingConfig?: unknown) => {
    const spec = parseFunctionSpec({
      runtime: 'nodejs22.x',
      handler: 'index.handler',
      code: { directory: '.' },
      ...(loggingConfig !== undefined && { loggingConfig }),
    });
    assert.ok(spec.ok, JSON.stringify(spec));
    return lambdaEnvironment({
      fn: { name: 'f', spec: spec.value },
      region: 'eu-west-1',
      runtimeApi: '127.0.0.1:9001',
      taskRoot: '/var/task',
      tmpDir: '/tmp',
      platform: {},
    });
  };
  const text = parsed();
  assert.equal(text.AWS_LAMBDA_LOG_FORMAT, undefined);
  assert.equal(text.AWS_LAMBDA_LOG_LEVEL, undefined);
  assert.equal(text.AWS_LAMBDA_LOG_GROUP_NAME, '/aws/lambda/f');
  const json = parsed({ logFormat: 'JSON' });
  assert.equal(json.AWS_LAMBDA_LOG_FORMAT, 'JSON');
  assert.equal(json.AWS_LAMBDA_LOG_LEVEL, 'INFO');
  const warn = parsed({ logFormat: 'JSON', applicationLogLevel: 'WARN', logGroup: '/teams/a' });
  assert.equal(warn.AWS_LAMBDA_LOG_LEVEL, 'WARN');
  assert.equal(warn.AWS_LAMBDA_LOG_GROUP_NAME, '/teams/a');
});
