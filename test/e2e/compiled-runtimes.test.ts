// Compiled functions on the real cluster, deployed as a user of Lambda would: zips
// built as the languages' Lambda docs build them (test/support/build-functions.ts),
// created through the Lambda API on the gateway and invoked with the AWS SDK: a
// provided.al2023 bootstrap on the official Go client (github.com/aws/aws-lambda-go),
// and a handler built against aws-lambda-java-core on java21 and java25, which run on
// the runtime-java* images (the pinned JDK and the official runtime interface client);
// the AWS CLI deploys the Java zip too, gives it a Function URL and calls both.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  InvokeCommand,
  waitUntilFunctionActiveV2,
  type InvokeCommandOutput,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { runtimeInfo } from '../../lib/runtimes.ts';
import { awsCliBinary } from '../services/local.ts';
import { goBootstrapZip, javaHandlerZip } from '../support/build-functions.ts';
import { e2eCluster, lambdaClient, type E2eCluster } from './support.ts';

const payload = (out: InvokeCommandOutput) =>
  JSON.parse(Buffer.from(out.Payload ?? []).toString()) as Record<string, unknown>;
const tail = (out: InvokeCommandOutput) => Buffer.from(out.LogResult ?? '', 'base64').toString();

describe('compiled functions on a real cluster', () => {
  let c: E2eCluster;
  let lambda: LambdaClient;
  const suffix = Date.now();
  const created: string[] = [];

  const deploy = async (
    name: string,
    runtime: 'provided.al2023' | 'java21' | 'java25',
    handler: string,
    zip: Buffer,
    memory = 128,
  ) => {
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: runtime,
        Handler: handler,
        Role: 'arn:aws:iam::000000000000:role/any',
        Code: { ZipFile: zip },
        MemorySize: memory,
        Timeout: 60,
      }),
    );
    created.push(name);
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 300 }, { FunctionName: name });
  };

  const invoke = async (name: string, event: object) => {
    const t0 = Date.now();
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: JSON.stringify(event), LogType: 'Tail' }),
    );
    process.stderr.write(`[e2e] ${name} answered in ${Date.now() - t0} ms\n`);
    return out;
  };

  before(() => {
    c = e2eCluster();
    lambda = lambdaClient(c);
  });

  after(async () => {
    for (const name of created)
      await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => undefined);
  });

  test('a provided.al2023 bootstrap built with github.com/aws/aws-lambda-go, from a zip', async () => {
    const name = `e2e-go-${suffix}`;
    await deploy(name, 'provided.al2023', 'hello', await goBootstrapZip());
    const out = await invoke(name, { name: 'cluster' });
    assert.equal(out.FunctionError, undefined, tail(out));
    const body = payload(out);
    assert.deepEqual(body.event, { name: 'cluster', fail: false });
    assert.equal(body.functionName, name);
    assert.equal(body.handler, 'hello');
    assert.equal(body.hasDeadline, true);
    assert.match(body.requestId as string, /^[0-9a-f-]{36}$/);
    assert.match(tail(out), /go says hi to cluster/);

    const failed = await invoke(name, { fail: true });
    assert.equal(failed.FunctionError, 'Unhandled');
    assert.deepEqual(payload(failed), { errorMessage: 'asked to fail', errorType: 'errorString' });
  });

  for (const runtime of ['java21', 'java25'] as const) {
    test(`${runtime}: a handler built against aws-lambda-java-core, from a zip, on JDK ${runtimeInfo(runtime).version} and the official runtime interface client`, async () => {
      const name = `e2e-${runtime}-${suffix}`;
      await deploy(name, runtime, 'example.Hello::handleRequest', await javaHandlerZip(), 512);
      const out = await invoke(name, { name: 'cluster' });
      assert.equal(out.FunctionError, undefined, tail(out));
      const body = payload(out);
      assert.deepEqual(body.event, { name: 'cluster' });
      assert.equal(body.javaVersion, runtimeInfo(runtime).version);
      assert.equal(body.functionName, name);
      assert.equal(body.memoryLimitInMB, 512);
      assert.match(body.requestId as string, /^[0-9a-f-]{36}$/);
      assert.match(tail(out), /java says hi to cluster/);
      // The image's own JDK: no line saying the agent fell back to another.
      assert.doesNotMatch(tail(out), /runs on this machine's Java/);

      const failed = await invoke(name, { fail: true });
      assert.equal(failed.FunctionError, 'Unhandled');
      const error = payload(failed);
      assert.equal(error.errorType, 'java.lang.IllegalStateException');
      assert.equal(error.errorMessage, 'asked to fail');
    });
  }

  test('the AWS CLI creates a java21 function from the zip, invokes it and gives it a Function URL that plain HTTP calls', async () => {
    const name = `e2e-cli-java21-${suffix}`;
    const dir = mkdtempSync(join(tmpdir(), 'selfless-e2e-cli-'));
    const aws = async (...args: string[]) => {
      const { stdout } = await promisify(execFile)(awsCliBinary(), [...args, '--output', 'json'], {
        cwd: dir,
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: c.gatewayUrl,
          AWS_DEFAULT_REGION: c.region,
          AWS_ACCESS_KEY_ID: c.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: c.credentials.secretAccessKey,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      });
      return stdout ? (JSON.parse(stdout) as Record<string, unknown>) : {};
    };
    try {
      writeFileSync(join(dir, 'function.zip'), await javaHandlerZip());
      await aws(
        'lambda',
        'create-function',
        '--function-name',
        name,
        '--runtime',
        'java21',
        '--handler',
        'example.Hello::handleRequest',
        '--role',
        'arn:aws:iam::000000000000:role/any',
        '--memory-size',
        '512',
        '--zip-file',
        'fileb://function.zip',
      );
      created.push(name);
      await aws('lambda', 'wait', 'function-active-v2', '--function-name', name);
      const out = await aws(
        'lambda',
        'invoke',
        '--function-name',
        name,
        '--payload',
        '{"name":"cli"}',
        'out.json',
      );
      assert.equal(out.StatusCode, 200);
      assert.equal(out.FunctionError, undefined);
      const body = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      assert.deepEqual(body.event, { name: 'cli' });
      assert.equal(body.javaVersion, runtimeInfo('java21').version);

      const url = await aws(
        'lambda',
        'create-function-url-config',
        '--function-name',
        name,
        '--auth-type',
        'NONE',
      );
      const reply = await fetch(`${url.FunctionUrl as string}from/curl`, {
        method: 'POST',
        body: 'hi',
      });
      assert.equal(reply.status, 200);
      const answered = (await reply.json()) as {
        event: { rawPath: string; body: string };
        functionName: string;
      };
      assert.equal(answered.event.rawPath, '/from/curl');
      assert.equal(answered.event.body, 'hi');
      assert.equal(answered.functionName, name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
