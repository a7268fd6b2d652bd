// A call whose environment never comes (an init container in CrashLoopBackOff, a
// process that dies before it connects) is answered as Lambda answers an init that
// outlives the function's timeout, after the timeout plus the cold-start allowance.
// Time is a test schedule: nothing here waits for a real timer.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { parseFunctionSpec } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import type { InvocationResult, WorkerIdentity } from '../lib/worker-channel/channel.ts';
import { makeGateway } from './app.ts';
import { WorkerHub, type PendingInvocation, type Schedule } from './hub.ts';
import { FunctionRegistry } from './registry.ts';

function testSchedule() {
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  const schedule: Schedule = (fn, ms) => {
    const t = { fn, ms, cancelled: false };
    timers.push(t);
    return () => {
      t.cancelled = true;
    };
  };
  const fireAll = () => {
    for (const t of timers.splice(0)) if (!t.cancelled) t.fn();
  };
  return { schedule, timers, fireAll };
}

function pending(timeoutSeconds = 3): PendingInvocation {
  return {
    requestId: crypto.randomUUID(),
    functionName: 'default/f',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
    payload: Buffer.from('{}'),
    timeoutSeconds,
    logTail: false,
    enqueuedAt: 0,
  };
}

const worker: WorkerIdentity = { workerId: 'w1', functionName: 'default/f' };

test('a call no environment takes is answered with its timeout after the timeout plus the allowance', async () => {
  const { schedule, timers, fireAll } = testSchedule();
  const hub = new WorkerHub({ coldStartAllowanceMs: 7_000, schedule });
  const expired: string[] = [];
  hub.on('waitExpired', (fn) => expired.push(fn));
  const p = pending(3);
  const got: { answer?: InvocationResult } = {};
  void hub.invoke(p).then((r) => (got.answer = r));
  assert.deepEqual(
    timers.map((t) => t.ms),
    [10_000],
  );
  await Promise.resolve();
  assert.equal(hub.queued('default/f'), 1, 'it waits until the deadline');
  assert.ok(!('answer' in got));
  fireAll();
  await Promise.resolve();
  const { answer } = got;
  assert.ok(answer);
  assert.equal(answer.functionError, 'Unhandled');
  const body = JSON.parse(answer.payload.toString()) as { errorMessage: string };
  assert.match(
    body.errorMessage,
    new RegExp(`^\\S+Z ${p.requestId} Task timed out after 3\\.00 seconds$`),
  );
  assert.equal(hub.queued('default/f'), 0, 'it left the queue');
  assert.deepEqual(expired, ['default/f']);
});

test('a call an environment takes in time is not timed out by the wait', async () => {
  const { schedule, timers, fireAll } = testSchedule();
  const hub = new WorkerHub({ schedule });
  const p = pending(3);
  const answer = hub.invoke(p);
  assert.equal(timers[0]?.ms, 13_000, "Lambda's 10 s init phase by default");
  const inv = await hub.next(worker, new AbortController().signal);
  assert.equal(timers[0]?.cancelled, true);
  fireAll();
  await hub.complete(worker, {
    requestId: inv.requestId,
    payload: Buffer.from('"ok"'),
    durationMs: 1,
    billedDurationMs: 1,
    maxMemoryUsedMB: 1,
  });
  assert.equal((await answer).payload.toString(), '"ok"');
});

test('a call its environment gives back waits afresh, at the head of the queue', async () => {
  const { schedule, timers } = testSchedule();
  const hub = new WorkerHub({ schedule });
  const answer = hub.invoke(pending());
  const inv = await hub.next(worker, new AbortController().signal);
  await hub.giveBack(worker, inv.requestId);
  assert.deepEqual(
    timers.map((t) => t.cancelled),
    [true, false],
  );
  timers[1]!.fn();
  assert.match((await answer).payload.toString(), /Task timed out after 3\.00 seconds/);
});

test('an init failure answers the call and ends its wait', async () => {
  const { schedule, timers } = testSchedule();
  const hub = new WorkerHub({ schedule });
  const answer = hub.invoke(pending());
  await hub.initFailed(worker, { errorType: 'Runtime.InitError', errorMessage: 'boom' });
  assert.equal(timers[0]?.cancelled, true);
  assert.equal(JSON.parse((await answer).payload.toString()).errorType, 'Runtime.InitError');
});

test('Invoke of a function whose environment never starts: 200, X-Amz-Function-Error, the timeout, a metric', async () => {
  const { schedule, fireAll, timers } = testSchedule();
  const registry = new FunctionRegistry();
  const spec = parseFunctionSpec({
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    code: { inline: {} },
    timeout: 5,
  });
  assert.ok(spec.ok);
  registry.put({ name: 'stuck', namespace: 'default', spec: spec.value });
  const started: string[] = [];
  const gw = makeGateway({
    registry,
    log: makeLogger('test', { level: 'error' }),
    // An environment that is started and never asks for work (its pod never runs).
    driver: {
      name: 'never',
      async start(_fn, w) {
        started.push(w.workerId);
        let stop = () => {};
        const exited = new Promise<void>((r) => (stop = r));
        return { exited, stop: async () => stop() };
      },
    },
    workerWait: { coldStartAllowanceMs: 1_000, schedule },
  });
  const server = gw.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const client = new LambdaClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const out = client.send(new InvokeCommand({ FunctionName: 'stuck', Payload: '{}' }));
    while (timers.length === 0) await new Promise((r) => setImmediate(r));
    assert.equal(timers[0]!.ms, 6_000);
    assert.equal(started.length, 1, 'one cold start was attempted');
    fireAll();
    const res = await out;
    assert.equal(res.StatusCode, 200);
    assert.equal(res.FunctionError, 'Unhandled');
    assert.match(Buffer.from(res.Payload!).toString(), /Task timed out after 5\.00 seconds/);
    const metrics = await gw.metrics.registry.metrics();
    assert.match(metrics, /selfless_function_worker_wait_expired_total\{function="[^"]*stuck"\} 1/);
    assert.match(
      metrics,
      /selfless_function_invocations_total\{function="[^"]*stuck",outcome="timeout"\} 1/,
    );
    client.destroy();
  } finally {
    await new Promise((r) => server.close(r));
    await gw.close?.();
  }
});
