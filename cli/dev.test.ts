// `selfless dev` end to end: manifests on disk, real runtimes (the machine's node
// and python3) supervised by the agent, called through the AWS SDK and plain HTTP.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DynamoDBClient, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { makeLogger } from '../lib/log.ts';
import { ManifestError, startDev, type DevServer } from './dev.ts';

const manifests = `
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: greet }
spec:
  runtime: nodejs20.x
  handler: index.handler
  code:
    inline:
      index.mjs: |
        export const handler = async (event, context) => {
          console.log('greeting', event.name ?? event.pathParameters?.name);
          return { hello: event.name ?? event.pathParameters?.name, fn: context.functionName };
        };
  triggers:
    - http: { method: GET, path: '/greet/{name}' }
---
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: sleepy }
spec:
  runtime: nodejs20.x
  handler: index.handler
  timeout: 1
  code:
    inline:
      index.js: |
        exports.handler = async (event) => {
          await new Promise((r) => setTimeout(r, event.ms));
          return 'awake';
        };
---
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: pinned }
spec:
  runtime: nodejs20.x
  handler: index.handler
  reservedConcurrentExecutions: 2
  timeout: 60
  code:
    inline:
      index.js: |
        const { existsSync } = require('node:fs');
        exports.handler = async (event) => {
          while (!existsSync(event.gate)) await new Promise((r) => setTimeout(r, 10));
          return 'ok';
        };
---
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: pyecho }
spec:
  runtime: python3.12
  handler: main.handler
  code:
    inline:
      main.py: |
        def handler(event, context):
            return {"echo": event, "remaining_ok": context.get_remaining_time_in_millis() > 0}
---
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: caller }
spec:
  runtime: nodejs20.x
  handler: index.handler
  timeout: 10
  code:
    inline:
      index.mjs: |
        import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
        const lambda = new LambdaClient({});
        export const handler = async (event) => {
          const out = await lambda.send(new InvokeCommand({ FunctionName: 'greet', Payload: JSON.stringify({ name: event.name }) }));
          return { endpoint: process.env.AWS_ENDPOINT_URL_LAMBDA, inner: JSON.parse(Buffer.from(out.Payload).toString()) };
        };
---
apiVersion: selfless.dev/v1alpha1
kind: Table
metadata: { name: notes }
spec:
  attributeDefinitions: [{ attributeName: id, attributeType: S }]
  keySchema: [{ attributeName: id, keyType: HASH }]
---
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: read-note }
spec:
  runtime: nodejs20.x
  handler: index.handler
  timeout: 10
  code:
    inline:
      index.js: |
        const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
        const db = new DynamoDBClient({});
        exports.handler = async (event) => {
          const out = await db.send(new GetItemCommand({ TableName: 'notes', Key: { id: { S: event.id } } }));
          return out.Item ? out.Item.text.S : null;
        };
---
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: pylog }
spec:
  runtime: python3.12
  handler: main.handler
  loggingConfig: { logFormat: JSON, applicationLogLevel: WARN }
  code:
    inline:
      main.py: |
        import logging
        def handler(event, context):
            logging.info("dropped")
            logging.warning("kept %s", event["n"])
            return 1
---
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: missing-handler }
spec:
  runtime: nodejs20.x
  handler: index.nope
  code:
    inline:
      index.mjs: "export const handler = async () => 1;"
`;

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'selfless-dev-test-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe('selfless dev', () => {
  let dir: string;
  let dev: DevServer;
  let lambda: LambdaClient;

  before(async () => {
    dir = tempDir({ 'functions.yaml': manifests });
    dev = await startDev({
      dir,
      port: 0,
      host: '127.0.0.1',
      idleTimeoutMs: 60_000,
      accountLimit: 1000,
      log: makeLogger('dev', { level: 'error' }),
    });
    lambda = new LambdaClient({
      endpoint: dev.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
  });
  after(async () => {
    lambda.destroy();
    await dev.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const invoke = async (
    name: string,
    payload: unknown,
    extra: Partial<ConstructorParameters<typeof InvokeCommand>[0]> = {},
  ) => {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: name,
        Payload: Buffer.from(JSON.stringify(payload)),
        ...extra,
      }),
    );
    return {
      ...out,
      body: JSON.parse(Buffer.from(out.Payload ?? []).toString() || 'null') as unknown,
    };
  };

  test('a Node.js function answers through the AWS SDK with its Tail log (START/END/REPORT)', async () => {
    const out = await invoke('greet', { name: 'sdk' }, { LogType: 'Tail' });
    assert.deepEqual(out.body, { hello: 'sdk', fn: 'greet' });
    const log = Buffer.from(out.LogResult!, 'base64').toString();
    assert.match(log, /START RequestId: [0-9a-f-]+ Version: \$LATEST/);
    assert.match(log, /greeting\tsdk|greeting sdk/);
    assert.match(
      log,
      /REPORT RequestId: .*\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB/,
    );
  });

  test('an HTTP route delivers a payload 2.0 event and maps the result back', async () => {
    const res = await fetch(`${dev.url}/greet/route`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), { hello: 'route', fn: 'greet' });
    assert.equal((await fetch(`${dev.url}/nowhere`)).status, 404);
  });

  test("GET / answers DynamoDB's health check when no route claims it", async () => {
    const res = await fetch(`${dev.url}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'healthy: dynamodb.us-east-1.amazonaws.com');
  });

  test('a Python function gets event and context', async () => {
    const out = await invoke('pyecho', { x: [1, 2] });
    assert.deepEqual(out.body, { echo: { x: [1, 2] }, remaining_ok: true });
  });

  test('a JSON-format function logs JSON records and platform.start/report, filtered by its levels', async () => {
    const out = await invoke('pylog', { n: 7 }, { LogType: 'Tail' });
    assert.equal(out.body, 1);
    const lines = Buffer.from(out.LogResult!, 'base64').toString().trimEnd().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      records.map((r) => r.type ?? `${String(r.level)} ${String(r.message)}`),
      ['platform.start', 'WARNING kept 7', 'platform.report'],
    );
  });

  test("a function past its timeout gets Lambda's timeout error and the next call runs on a fresh runtime", async () => {
    const out = await invoke('sleepy', { ms: 3000 });
    assert.equal(out.FunctionError, 'Unhandled');
    assert.match(JSON.stringify(out.body), /Task timed out after 1\.00 seconds/);
    const again = await invoke('sleepy', { ms: 1 });
    assert.equal(again.FunctionError, undefined);
    assert.equal(again.body, 'awake');
  });

  test('a function imports the AWS SDK (as on Lambda) and reaches the gateway through AWS_ENDPOINT_URL_LAMBDA', async () => {
    const out = await invoke('caller', { name: 'nested' });
    assert.equal(out.FunctionError, undefined, JSON.stringify(out.body));
    assert.deepEqual(out.body, { endpoint: dev.url, inner: { hello: 'nested', fn: 'greet' } });
  });

  test('Table manifests are created and served on the same port; a function reads them through AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const ddb = new DynamoDBClient({
      endpoint: dev.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    try {
      const tables = await ddb.send(new ListTablesCommand({}));
      assert.deepEqual(tables.TableNames, ['notes']);
      await ddb.send(
        new PutItemCommand({
          TableName: 'notes',
          Item: { id: { S: 'n1' }, text: { S: 'remember' } },
        }),
      );
    } finally {
      ddb.destroy();
    }
    const out = await invoke('read-note', { id: 'n1' });
    assert.equal(out.FunctionError, undefined, JSON.stringify(out.body));
    assert.equal(out.body, 'remember');
  });

  test('a handler that does not exist is reported as Runtime.HandlerNotFound', async () => {
    const out = await invoke('missing-handler', {});
    assert.equal(out.FunctionError, 'Unhandled');
    assert.equal((out.body as { errorType: string }).errorType, 'Runtime.HandlerNotFound');
  });

  test('10x the reserved concurrency at a slow function: exactly 2 run and 18 are throttled with 429', async () => {
    // The function runs until the gate file exists: the slots stay taken while every call arrives.
    const gate = join(dir, 'pinned-gate');
    let answered = 0;
    const calls = Array.from({ length: 20 }, () =>
      invoke('pinned', { gate })
        .then(
          (out) => (out.body === 'ok' ? 'ok' : JSON.stringify(out.body)),
          (err: unknown) => (err instanceof TooManyRequestsException ? 'throttled' : String(err)),
        )
        .finally(() => answered++),
    );
    // Not 18 in half a minute: more than 2 are running, and the counts below say so.
    for (const giveUp = Date.now() + 30_000; answered < 18 && Date.now() < giveUp;) {
      await new Promise((r) => setTimeout(r, 10));
    }
    writeFileSync(gate, '');
    const results = await Promise.all(calls);
    assert.equal(results.filter((r) => r === 'ok').length, 2, results.join(','));
    assert.equal(results.filter((r) => r === 'throttled').length, 18);
  });
});

test('an invalid manifest is refused at load with the file, the field and the limit', async () => {
  const dir = tempDir({
    'bad.yaml': `apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: big }
spec: { runtime: nodejs20.x, handler: index.handler, memorySize: 20000, code: { inline: { "index.mjs": "" } } }
`,
  });
  try {
    await assert.rejects(
      startDev({ dir, port: 0, host: '127.0.0.1', idleTimeoutMs: 1000, accountLimit: 1000 }),
      (err: unknown) => {
        assert.ok(err instanceof ManifestError);
        assert.match(
          err.message,
          /bad\.yaml: Function big: spec\.memorySize: must be between 128 and 10240, got 20000/,
        );
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C stops selfless dev cleanly: exit 0 and no runtime process left behind', async () => {
  const bin = join(import.meta.dirname, '..', 'bin', 'selfless.js');
  const examples = join(import.meta.dirname, '..', 'examples');
  const child = spawn(process.execPath, [bin, 'dev', examples, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  // No deadline of our own: a cold start of the whole binary on a loaded machine takes
  // what it takes; an exit before the banner fails at once, a hang at the test timeout.
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited ${code} before the banner: ${out}`)));
    child.stdout.on('data', () => {
      const m = /on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  assert.equal((await fetch(`${url}/hello?name=ctrl-c`)).status, 200);
  const descendants = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)])
    .toString()
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  assert.ok(descendants.length >= 1, 'a runtime process is running');
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0);
  for (const pid of descendants) {
    assert.throws(() => process.kill(Number(pid), 0), `runtime ${pid} is gone`);
  }
});
