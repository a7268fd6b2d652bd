// The HTTP worker channel: client <-> routes <-> a real (queue) WorkerChannel, and a
// real Agent pulling work through it as an agent in a pod does.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { QueueChannel } from '../test/support/queue-channel.ts';
import { makeHttpWorkerChannel, makeWorkerChannelRoutes } from './worker-channel-http.ts';
import type { Invocation, WorkerChannel, WorkerIdentity } from './worker-channel.ts';

async function serve(
  channel: WorkerChannel,
  token?: string,
): Promise<{ url: string; server: Server }> {
  const routes = makeWorkerChannelRoutes(channel, token === undefined ? {} : { token });
  const server = createServer((req, res) => {
    if (!routes(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const worker: WorkerIdentity = { workerId: 'w-1', functionName: 'fn' };

describe('HTTP worker channel', () => {
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

  it('aborts the server-side next when the agent aborts its long poll', async () => {
    let serverSignal: AbortSignal | undefined;
    const channel: WorkerChannel = {
      next: (_w, signal) =>
        new Promise((_resolve, reject) => {
          serverSignal = signal;
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      complete: async () => {},
      initFailed: async () => {},
      leave: async () => {},
    };
    const { url, server } = await serve(channel);
    try {
      const client = makeHttpWorkerChannel(url);
      const abort = new AbortController();
      const polling = client.next(worker, abort.signal);
      while (!serverSignal) await new Promise((r) => setTimeout(r, 5));
      abort.abort();
      await assert.rejects(polling, { name: 'AbortError' });
      while (!serverSignal.aborted) await new Promise((r) => setTimeout(r, 5));
      assert.equal(serverSignal.aborted, true, 'the disconnect reached the channel');
    } finally {
      await close(server);
    }
  });

  it('refuses bad requests with 4xx and a wrong token with 401', async () => {
    const queue = new QueueChannel('fn');
    const { url, server } = await serve(queue, 's3cret');
    try {
      const noToken = makeHttpWorkerChannel(url);
      await assert.rejects(noToken.leave(worker), /401/);
      const post = (path: string, headers: Record<string, string>) =>
        fetch(`${url}/_selfless/worker/v1/${path}`, {
          method: 'POST',
          headers: { authorization: 'Bearer s3cret', ...headers },
        });
      assert.equal((await post('leave', {})).status, 400, 'identity headers are required');
      const id = { 'x-selfless-worker-id': 'w', 'x-selfless-function-name': 'fn' };
      assert.equal((await post('complete', id)).status, 400, 'a result needs its request id');
      assert.equal((await post('nope', id)).status, 404);
      assert.equal(
        (
          await fetch(`${url}/_selfless/worker/v1/leave`, {
            headers: { authorization: 'Bearer s3cret' },
          })
        ).status,
        405,
      );
      const withToken = makeHttpWorkerChannel(url, { token: 's3cret' });
      await withToken.leave(worker);
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
