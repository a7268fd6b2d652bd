// The gateway's routes, driven by the agent's client and by raw requests: a poll the
// agent drops reaches the channel, and bad requests are refused with their status.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { close, serve } from '../../test/support/channel-server.ts';
import { QueueChannel } from '../../test/support/queue-channel.ts';
import type { WorkerChannel, WorkerIdentity } from './channel.ts';
import { makeHttpWorkerChannel } from './client.ts';

const worker: WorkerIdentity = { workerId: 'w-1', functionName: 'fn' };

describe('HTTP worker channel routes', () => {
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
});
