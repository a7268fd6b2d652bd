// `selfless gateway` as operators run it: its own process, manifests from a folder,
// Redis for async events and cluster-wide quotas, SigV4 on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { testServices } from '../test/services/index.ts';
import { freePort } from '../test/services/process.ts';

test('selfless gateway serves sync and Event invocations with Redis and SigV4, and stops on SIGTERM', async () => {
  const { redisUrl } = await testServices();
  const dir = mkdtempSync(join(tmpdir(), 'selfless-gateway-'));
  writeFileSync(
    join(dir, 'fn.yaml'),
    `apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: gw-echo }
spec:
  runtime: nodejs20.x
  handler: index.handler
  code: { inline: { index.mjs: "export const handler = async (e) => e;" } }
`,
  );
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '..', 'bin', 'selfless.js'),
      'gateway',
      '--manifests',
      dir,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--redis',
      redisUrl,
    ],
    {
      env: { ...process.env, SELFLESS_ACCESS_KEYS: 'AKIDTEST:sekret' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr.on('data', (c) => (log += c));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  try {
    await new Promise<void>((ok, fail) => {
      // A fresh checkout compiles every source through tsx on the first start: 22 s
      // were seen on a loaded 2-core machine.
      const t = setTimeout(() => fail(new Error(`not listening: ${log}`)), 90_000);
      child.stderr.on('data', () => {
        if (log.includes('"gateway listening"')) {
          clearTimeout(t);
          ok();
        }
      });
    });
    const lambda = new LambdaClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'sekret' },
      maxAttempts: 1,
    });
    const sync = await lambda.send(
      new InvokeCommand({ FunctionName: 'gw-echo', Payload: Buffer.from('{"a":1}') }),
    );
    assert.equal(Buffer.from(sync.Payload!).toString(), '{"a":1}');
    const event = await lambda.send(
      new InvokeCommand({
        FunctionName: 'gw-echo',
        InvocationType: 'Event',
        Payload: Buffer.from('{"b":2}'),
      }),
    );
    assert.equal(event.StatusCode, 202);
    lambda.destroy();
    // The event runs through the Redis queue: the invocation count reaches 2.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (
        /selfless_function_invocations_total\{function="gw-echo",outcome="success"\} 2/.test(text)
      )
        break;
      assert.ok(Date.now() < deadline, 'the Event invocation ran');
      await new Promise((r) => setTimeout(r, 100));
    }
    const unsigned = await fetch(`http://127.0.0.1:${port}/2016-08-19/account-settings`);
    assert.equal(unsigned.status, 403);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
