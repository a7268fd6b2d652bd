// The agent's client for one gateway against the real routes and a real (queue)
// WorkerChannel behind them: every field arrives, and polling outlives a restart.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { close, serve } from '../../test/support/channel-server.ts';
import { QueueChannel } from '../../test/support/queue-channel.ts';
import type { Invocation, WorkerIdentity } from './channel.ts';
import { makeHttpWorkerChannel } from './client.ts';
import { makeWorkerChannelRoutes } from './server.ts';

const worker: WorkerIdentity = { workerId: 'w-1', functionName: 'fn' };

describe('HTTP worker channel client', () => {
  it('carries an invocation and its result field for field, binary payloads included', async () => {
    const queue = new QueueChannel('fn');
    const { url, server } = await serve(queue);
    const client = makeHttpWorkerChannel(url);
    try {
      const pending = queue.invoke(
        { text: 'héllo ✓' },
        {
          logTail: true,
          clientContext: JSON.stringify({ custom: { who: 'ünïcode' } }),
          cognitoIdentity: '{"cognitoIdentityId":"c"}',
          traceId: 'Root=1-abc',
        },
      );
      const inv: Invocation = await client.next(worker, new AbortController().signal);
      assert.deepEqual(JSON.parse(inv.payload.toString('utf8')), { text: 'héllo ✓' });
      assert.equal(inv.functionName, 'fn');
      assert.equal(inv.functionArn, 'arn:aws:lambda:us-east-1:000000000000:function:fn');
      assert.ok(inv.deadlineMs > Date.now());
      assert.equal(inv.logTail, true);
      assert.equal(inv.clientContext, '{"custom":{"who":"ünïcode"}}');
      assert.equal(inv.cognitoIdentity, '{"cognitoIdentityId":"c"}');
      assert.equal(inv.traceId, 'Root=1-abc');

      const binary = Buffer.from([0, 255, 10, 13, 128]);
      await client.complete(worker, {
        requestId: inv.requestId,
        payload: binary,
        functionError: 'Unhandled',
        logResult: Buffer.from('START...').toString('base64'),
        durationMs: 12.34,
        billedDurationMs: 13,
        initDurationMs: 101.5,
        maxMemoryUsedMB: 42,
      });
      const result = await pending;
      assert.deepEqual(result, {
        requestId: inv.requestId,
        payload: binary,
        functionError: 'Unhandled',
        logResult: Buffer.from('START...').toString('base64'),
        durationMs: 12.34,
        billedDurationMs: 13,
        initDurationMs: 101.5,
        maxMemoryUsedMB: 42,
      });

      await client.initFailed(worker, {
        errorType: 'Runtime.ImportModuleError',
        errorMessage: 'x',
      });
      assert.deepEqual(queue.initFailures, [
        { worker, error: { errorType: 'Runtime.ImportModuleError', errorMessage: 'x' } },
      ]);
      await client.leave(worker);
      assert.deepEqual(queue.left, [worker]);
    } finally {
      await close(server);
    }
  });

  it('keeps polling through a gateway restart', async () => {
    const queue = new QueueChannel('fn');
    const first = await serve(queue);
    const url = first.url;
    const port = new URL(url).port;
    await close(first.server);
    const client = makeHttpWorkerChannel(url, { retryMs: { initial: 20, max: 50 } });
    const polling = client.next(worker, new AbortController().signal);
    await new Promise((r) => setTimeout(r, 100));
    const routes = makeWorkerChannelRoutes(queue);
    const server = createServer((req, res) => void routes(req, res));
    await new Promise<void>((resolve) => server.listen(Number(port), '127.0.0.1', resolve));
    try {
      const pending = queue.invoke({ after: 'restart' });
      const inv = await polling;
      assert.deepEqual(JSON.parse(inv.payload.toString()), { after: 'restart' });
      await client.complete(worker, {
        requestId: inv.requestId,
        payload: Buffer.from('1'),
        durationMs: 1,
        billedDurationMs: 1,
        maxMemoryUsedMB: 1,
      });
      assert.equal((await pending).payload.toString(), '1');
    } finally {
      await close(server);
    }
  });
});
