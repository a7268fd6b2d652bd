// Several events per environment over the HTTP worker channel, as in a cluster: a
// real agent polling a gateway (makeMultiGatewayChannel, as `selfless agent` does)
// and a real Node.js runtime whose handlers only answer once all of them run at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { parseFunctionSpec } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import { makeMultiGatewayChannel } from '../lib/worker-channel/fanout.ts';
import { Agent } from '../lib/agent/agent.ts';
import { makeGateway } from './app.ts';
import { FunctionRegistry } from './registry.ts';

test('a remote agent with perExecutionEnvironmentMaxConcurrency 4 runs 4 events at once in one runtime process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfless-remote-many-'));
  writeFileSync(
    join(dir, 'index.mjs'),
    `let inFlight = 0;
const waiting = [];
export const handler = async (e) => {
  inFlight++;
  if (inFlight < e.meet) await new Promise((r) => waiting.push(r));
  else for (const r of waiting.splice(0)) r();
  inFlight--;
  return { n: e.n, pid: process.pid };
};`,
  );
  const spec = parseFunctionSpec({
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    code: { directory: dir },
    perExecutionEnvironmentMaxConcurrency: 4,
  });
  assert.ok(spec.ok);
  const fn = { name: 'many', namespace: 'default', spec: spec.value };
  const registry = new FunctionRegistry();
  registry.put(fn);
  const gateway = makeGateway({
    registry,
    log: makeLogger('gateway', { level: 'error' }),
    remoteWorkers: { token: 't0ken' },
  });
  const server: Server = gateway.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lambda = new LambdaClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  const agent = new Agent({
    channel: makeMultiGatewayChannel(url, { token: 't0ken' }),
    worker: { workerId: 'pod-1', functionName: 'many' },
    fn,
    codeDir: dir,
    tmpDir: join(dir, 'tmp'),
    env: {},
    log: () => undefined,
  });
  await agent.start();
  try {
    const outs = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        lambda.send(
          new InvokeCommand({
            FunctionName: 'many',
            Payload: Buffer.from(JSON.stringify({ n, meet: 4 })),
          }),
        ),
      ),
    );
    const docs = outs.map(
      (o) => JSON.parse(Buffer.from(o.Payload!).toString()) as { n: number; pid: number },
    );
    assert.deepEqual(
      docs.map((d) => d.n),
      [1, 2, 3, 4],
    );
    assert.equal(new Set(docs.map((d) => d.pid)).size, 1, 'one runtime process ran all four');
  } finally {
    await agent.stop();
    lambda.destroy();
    server.closeAllConnections();
    server.close();
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
