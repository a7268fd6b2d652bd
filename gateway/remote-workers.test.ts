// Agents that are not started by the gateway (pods) reach it over the HTTP worker
// channel: a real agent and a real Node.js runtime, connected through HTTP only.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { parseFunctionSpec, type FunctionDefinition } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import { makeHttpWorkerChannel } from '../lib/worker-channel/client.ts';
import { Agent } from '../lib/agent/agent.ts';
import { makeGateway, type Gateway } from './app.ts';
import { FunctionRegistry } from './registry.ts';

let gateway: Gateway;
let server: Server;
let url: string;
let dir: string;
let fn: FunctionDefinition;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'selfless-remote-'));
  writeFileSync(
    join(dir, 'index.mjs'),
    'export const handler = async (e, ctx) => ({ got: e, fn: ctx.functionName });',
  );
  const spec = parseFunctionSpec({
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: { directory: dir },
  });
  assert.ok(spec.ok);
  fn = { name: 'remote', namespace: 'default', spec: spec.value };
  const registry = new FunctionRegistry();
  registry.put(fn);
  gateway = makeGateway({
    registry,
    log: makeLogger('gateway', { level: 'error' }),
    remoteWorkers: { token: 't0ken' },
  });
  server = gateway.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an invocation waits for a remote agent, which runs it and answers over HTTP', async () => {
  const lambda = new LambdaClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  // The call is admitted before any worker exists: it waits in the hub.
  const pending = lambda.send(
    new InvokeCommand({ FunctionName: 'remote', Payload: Buffer.from('{"n":7}') }),
  );
  const agent = new Agent({
    channel: makeHttpWorkerChannel(url, { token: 't0ken' }),
    worker: { workerId: 'pod-1', functionName: 'remote' },
    fn,
    codeDir: dir,
    tmpDir: join(dir, 'tmp'),
    env: {},
    log: () => undefined,
  });
  await agent.start();
  try {
    const out = await pending;
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload!).toString()), {
      got: { n: 7 },
      fn: 'remote',
    });
    const again = await lambda.send(
      new InvokeCommand({ FunctionName: 'remote', Payload: Buffer.from('2') }),
    );
    assert.deepEqual(JSON.parse(Buffer.from(again.Payload!).toString()), { got: 2, fn: 'remote' });
  } finally {
    await agent.stop();
    lambda.destroy();
  }
});

test('the worker channel refuses agents without the token', async () => {
  const res = await fetch(`${url}/_selfless/worker/v1/next`, { method: 'POST' });
  assert.equal(res.status, 401);
});
