// Compiled functions on the real cluster, deployed as a user of Lambda would: zips
// built as the languages' Lambda docs build them (test/support/build-functions.ts),
// created through the Lambda API on the gateway and invoked with the AWS SDK: a
// provided.al2023 bootstrap on the official Go client (github.com/aws/aws-lambda-go),
// and a handler built against aws-lambda-java-core on java21 and java25, which run on
// the runtime-java* images (the pinned JDK and the official runtime interface client).
import assert from 'node:assert/strict';
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
});
