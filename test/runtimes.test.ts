// Every managed runtime, deployed and invoked as a user would with the real
// @aws-sdk/client-lambda against `selfless dev` (the process driver): Node.js on the
// exact versions lib/runtimes.ts pins, Python on its minor, Java through the official
// runtime interface client with a handler built against aws-lambda-java-core, and
// provided.al2023 with a bootstrap built on the official Go client. What the runtimes
// need is fetched by the project's own script (runtime-images/fetch-runtimes.sh) and
// the functions are built here (test/support/build-functions.ts), both cached.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { runtimeInfo, type Runtime } from '../lib/runtimes.ts';
import { makeLogger } from '../lib/log.ts';
import { startDev, type DevServer } from '../cli/dev.ts';
import { goBootstrapZip, javaHandlerZip, rustBootstrapZip } from './support/build-functions.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const ROLE = 'arn:aws:iam::123456789012:role/lambda';

let dir: string;
let dev: DevServer;
let lambda: LambdaClient;
let javaZip: Buffer;
let goZip: Buffer;
let rustZip: Buffer;
/** The function log of the dev server (what the runtimes print at init is not in a tail). */
const functionLog: string[] = [];

before(async () => {
  await run('bash', [join(root, 'runtime-images', 'fetch-runtimes.sh')], {
    maxBuffer: 16 * 1024 * 1024,
  });
  // Built before the server starts: a build of a minute would outlast its keep-alive.
  // One after the other: two compilers at once on two cores only slow both.
  javaZip = await javaHandlerZip();
  goZip = await goBootstrapZip();
  rustZip = await rustBootstrapZip();
  dir = mkdtempSync(join(tmpdir(), 'selfless-runtimes-'));
  dev = await startDev({
    dir,
    port: 0,
    host: '127.0.0.1',
    idleTimeoutMs: 60_000,
    accountLimit: 1000,
    log: makeLogger('dev', {
      level: 'info',
      write: (line) => {
        const entry = JSON.parse(line) as { msg: string; function?: string; line?: string };
        if (entry.msg === 'function output') functionLog.push(`${entry.function}: ${entry.line}`);
      },
    }),
  });
  lambda = new LambdaClient({
    endpoint: dev.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});

after(async () => {
  lambda?.destroy();
  await dev?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function deploy(
  name: string,
  runtime: Runtime,
  handler: string,
  zip: Uint8Array,
  memorySize = 128,
): Promise<void> {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: runtime,
      Handler: handler,
      Role: ROLE,
      Code: { ZipFile: zip },
      MemorySize: memorySize,
      Timeout: 30,
    }),
  );
}

async function invoke(name: string, event: unknown): Promise<InvokeCommandOutput> {
  return lambda.send(
    new InvokeCommand({
      FunctionName: name,
      Payload: Buffer.from(JSON.stringify(event)),
      LogType: 'Tail',
    }),
  );
}

const payload = (o: InvokeCommandOutput) =>
  JSON.parse(Buffer.from(o.Payload!).toString()) as Record<string, unknown>;
const notes = (fn: string) =>
  functionLog.filter((l) => l.startsWith(`${fn}: Selfless:`)).map((l) => l.slice(fn.length + 2));
const tail = (o: InvokeCommandOutput) => Buffer.from(o.LogResult!, 'base64').toString();

describe('Node.js', () => {
  for (const runtime of ['nodejs20.x', 'nodejs22.x', 'nodejs24.x'] as const) {
    it(`${runtime} runs on exactly Node.js ${runtimeInfo(runtime).version}, the version its image pins`, async () => {
      const name = `node-${runtime.replace('.', '-')}`;
      const zip = zipSync({
        'index.mjs': strToU8('export const handler = async () => ({ version: process.version });'),
      });
      await deploy(name, runtime, 'index.handler', zip);
      const out = await invoke(name, {});
      assert.equal(out.FunctionError, undefined, tail(out));
      assert.deepEqual(payload(out), { version: `v${runtimeInfo(runtime).version}` });
      assert.deepEqual(notes(name), []);
    });
  }
});

describe('Python', () => {
  for (const runtime of ['python3.12', 'python3.13'] as const) {
    it(`${runtime} runs on a Python ${runtime.slice(6)}, and the log names its version when it is not the pinned one`, async () => {
      const name = `py-${runtime.replace('.', '-')}`;
      const zip = zipSync({
        'app.py': strToU8(
          'import sys\ndef handler(e, c):\n    return {"version": sys.version.split()[0]}\n',
        ),
      });
      await deploy(name, runtime, 'app.handler', zip);
      const out = await invoke(name, {});
      assert.equal(out.FunctionError, undefined, tail(out));
      const version = payload(out).version as string;
      const pinned = runtimeInfo(runtime).version!;
      assert.equal(version.split('.').slice(0, 2).join('.'), runtime.slice(6));
      assert.deepEqual(
        notes(name),
        version === pinned
          ? []
          : [
              `Selfless: runtime ${runtime} runs on this machine's Python ${version}, not ${pinned}`,
            ],
      );
    });
  }
});

describe('Java', () => {
  for (const runtime of ['java21', 'java25'] as const) {
    it(`${runtime} runs a handler built against aws-lambda-java-core on the official runtime interface client, on JDK ${runtimeInfo(runtime).version}`, async () => {
      const name = `java-${runtime}`;
      await deploy(name, runtime, 'example.Hello::handleRequest', javaZip, 512);
      const out = await invoke(name, { name: 'sdk' });
      assert.equal(out.FunctionError, undefined, tail(out));
      const body = payload(out);
      assert.deepEqual(body.event, { name: 'sdk' });
      assert.equal(body.javaVersion, runtimeInfo(runtime).version);
      assert.equal(body.functionName, name);
      assert.equal(body.memoryLimitInMB, 512);
      assert.match(body.requestId as string, /^[0-9a-f-]{36}$/);
      assert.ok((body.remainingTimeInMillis as number) > 0);
      assert.match(tail(out), /java says hi to sdk/);
      assert.match(tail(out), /REPORT RequestId: .*Init Duration/);

      const failed = await invoke(name, { fail: true });
      assert.equal(failed.FunctionError, 'Unhandled');
      const error = payload(failed);
      assert.equal(error.errorType, 'java.lang.IllegalStateException');
      assert.equal(error.errorMessage, 'asked to fail');
      assert.ok(Array.isArray(error.stackTrace));
    });
  }

  it('java21 created with LoggingConfig JSON through the Lambda API: the official client writes LambdaLogger records as JSON, the agent platform.start/report', async () => {
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'java-json-logs',
        Runtime: 'java21',
        Handler: 'example.Hello::handleRequest',
        Role: ROLE,
        Code: { ZipFile: javaZip },
        MemorySize: 512,
        Timeout: 30,
        LoggingConfig: { LogFormat: 'JSON' },
      }),
    );
    const out = await invoke('java-json-logs', { name: 'sdk' });
    assert.equal(out.FunctionError, undefined, tail(out));
    const records = tail(out)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      records.map((r) => r.type ?? r.message),
      ['platform.start', 'java says hi to sdk', 'platform.report'],
    );
    // LambdaLogger.log without a level: the client's UNDEFINED, which Lambda's filter reads as INFO.
    assert.equal(records[1]!.level, 'UNDEFINED');
    assert.equal(records[1]!.AWSRequestId, (records[0]!.record as { requestId: string }).requestId);
  });
});

describe('provided.al2023', () => {
  it('runs a bootstrap built with the official Go client, github.com/aws/aws-lambda-go', async () => {
    await deploy('go-hello', 'provided.al2023', 'hello', goZip);
    const out = await invoke('go-hello', { name: 'sdk' });
    assert.equal(out.FunctionError, undefined, tail(out));
    const body = payload(out);
    assert.deepEqual(body.event, { name: 'sdk', fail: false });
    assert.equal(body.functionName, 'go-hello');
    assert.equal(body.handler, 'hello');
    assert.equal(body.hasDeadline, true);
    assert.match(body.requestId as string, /^[0-9a-f-]{36}$/);
    assert.match(tail(out), /go says hi to sdk/);

    const failed = await invoke('go-hello', { fail: true });
    assert.equal(failed.FunctionError, 'Unhandled');
    assert.deepEqual(payload(failed), { errorMessage: 'asked to fail', errorType: 'errorString' });
  });

  it("runs a bootstrap built with Rust's lambda_runtime crate", async () => {
    await deploy('rust-hello', 'provided.al2023', 'hello', rustZip);
    const out = await invoke('rust-hello', { name: 'sdk' });
    assert.equal(out.FunctionError, undefined, tail(out));
    const body = payload(out);
    assert.deepEqual(body.event, { name: 'sdk' });
    assert.equal(body.functionName, 'rust-hello');
    assert.match(body.requestId as string, /^[0-9a-f-]{36}$/);
    assert.match(tail(out), /rust says hi to "sdk"/);

    const failed = await invoke('rust-hello', { fail: true });
    assert.equal(failed.FunctionError, 'Unhandled');
    assert.equal(payload(failed).errorMessage, 'asked to fail');
  });
});
