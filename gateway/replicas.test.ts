// Several gateway replicas serve one function: a real agent (real Node.js runtime)
// polls every replica at once over HTTP and takes exactly one invocation at a time.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { parseFunctionSpec, type FunctionDefinition } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import { makeMultiGatewayChannel, type MultiGatewayOptions } from '../lib/worker-channel/fanout.ts';
import { makeWorkerChannelRoutes } from '../lib/worker-channel/server.ts';
import { Agent } from '../lib/agent/agent.ts';
import { makeGateway, type Gateway } from './app.ts';
import { WorkerHub } from './hub.ts';
import { FunctionRegistry } from './registry.ts';
import { eventually } from '../test/support/gateway.ts';

interface Replica {
  gateway: Gateway;
  server: Server;
  url: string;
  lambda: LambdaClient;
}

let dir: string;
let runs: string;
let fn: FunctionDefinition;
const replicas: Replica[] = [];

async function startReplica(host = '127.0.0.1', port = 0): Promise<Replica> {
  const registry = new FunctionRegistry();
  registry.put(fn);
  const gateway = makeGateway({
    registry,
    log: makeLogger('gateway', { level: 'error' }),
    remoteWorkers: {},
  });
  const server = gateway.app.listen(port, host);
  await new Promise((r) => server.once('listening', r));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  const lambda = new LambdaClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  return { gateway, server, url, lambda };
}

async function stopReplica(r: Replica): Promise<void> {
  r.lambda.destroy();
  r.server.closeAllConnections();
  await new Promise((resolve) => r.server.close(resolve));
  await r.gateway.close();
}

function startAgent(
  channelUrls: string[],
  log: string[] = [],
  retry: { retryMs: { initial: number; max: number }; attempts: number } = {
    retryMs: { initial: 20, max: 200 },
    attempts: 3,
  },
): Agent {
  return new Agent({
    channel: makeMultiGatewayChannel(channelUrls, { log: (line) => log.push(line), ...retry }),
    worker: { workerId: `pod-${Math.random().toString(36).slice(2, 8)}`, functionName: 'multi' },
    fn,
    codeDir: dir,
    tmpDir: join(dir, 'tmp'),
    env: {},
    log: () => undefined,
  });
}

async function call(r: Replica, id: string): Promise<unknown> {
  const out = await r.lambda.send(
    new InvokeCommand({ FunctionName: 'multi', Payload: Buffer.from(JSON.stringify({ id })) }),
  );
  assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload!).toString());
  return JSON.parse(Buffer.from(out.Payload!).toString());
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'selfless-replicas-'));
  runs = join(dir, 'runs.txt');
  writeFileSync(runs, '');
  // Every execution leaves a line, so a test sees an invocation that ran twice.
  writeFileSync(
    join(dir, 'index.mjs'),
    `import { appendFileSync } from 'node:fs';
export const handler = async (e) => { appendFileSync(process.env.RUNS, e.id + '\\n'); return { id: e.id }; };`,
  );
  const spec = parseFunctionSpec({
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: { directory: dir },
    environment: { variables: { RUNS: runs } },
  });
  assert.ok(spec.ok);
  fn = { name: 'multi', namespace: 'default', spec: spec.value };
  replicas.push(await startReplica(), await startReplica());
});
after(async () => {
  for (const r of replicas) await stopReplica(r).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('one agent polling two replicas serves calls sent to either of them', async () => {
  const agent = startAgent(replicas.map((r) => r.url));
  await agent.start();
  try {
    for (let i = 0; i < 6; i++) {
      const r = replicas[i % 2]!;
      assert.deepEqual(await call(r, `seq-${i}`), { id: `seq-${i}` });
    }
  } finally {
    await agent.stop();
  }
});

test('calls reaching both replicas at the same moment each run exactly once', async () => {
  writeFileSync(runs, '');
  const log: string[] = [];
  const agent = startAgent(
    replicas.map((r) => r.url),
    log,
  );
  await agent.start();
  const ids: string[] = [];
  try {
    for (let round = 0; round < 30; round++) {
      const a = `a-${round}`;
      const b = `b-${round}`;
      ids.push(a, b);
      const answers = await Promise.all([call(replicas[0]!, a), call(replicas[1]!, b)]);
      assert.deepEqual(answers, [{ id: a }, { id: b }]);
    }
  } finally {
    await agent.stop();
  }
  const ran = readFileSync(runs, 'utf8').trim().split('\n').sort();
  assert.deepEqual(ran, [...ids].sort(), 'every call ran once, none twice');
  // Without give-backs the race this test is about never happened.
  const givenBack = log.filter((l) => l.includes('giving')).length;
  assert.ok(givenBack > 0, `no invocation was given back in 30 rounds: ${log.join('\n')}`);
});

test('a replica that goes away does not stop the agent serving the other', async () => {
  const extra = await startReplica();
  // A poll of the lost replica tries again only after an hour, and no other request is
  // retried: a call served here did not wait on the lost replica.
  const agent = startAgent([replicas[0]!.url, extra.url], [], {
    retryMs: { initial: 3_600_000, max: 3_600_000 },
    attempts: 1,
  });
  await agent.start();
  try {
    assert.deepEqual(await call(extra, 'before'), { id: 'before' });
    await stopReplica(extra);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await call(replicas[0]!, `after-${i}`), { id: `after-${i}` });
    }
  } finally {
    await agent.stop();
  }
});

test('replicas come from a host name resolved again while the agent runs', async () => {
  // Two replicas on one port, as pods behind a headless Service are: 127.0.0.2 is
  // loopback too on Linux. The resolver stands in for DNS answering one, then both.
  const first = replicas[0]!;
  const port = Number(new URL(first.url).port);
  const second = await startReplica('127.0.0.2', port);
  let answer = ['127.0.0.1'];
  const agent = new Agent({
    channel: makeMultiGatewayChannel(`http://gateway.test:${port}`, {
      resolve: async () => answer,
      refreshMs: 50,
    }),
    worker: { workerId: 'pod-dns', functionName: 'multi' },
    fn,
    codeDir: dir,
    tmpDir: join(dir, 'tmp'),
    env: {},
    log: () => undefined,
  });
  await agent.start();
  try {
    assert.deepEqual(await call(first, 'one'), { id: 'one' });
    answer = ['127.0.0.1', '127.0.0.2'];
    assert.deepEqual(await call(second, 'two'), { id: 'two' });
  } finally {
    await agent.stop();
    await stopReplica(second);
  }
});

/** A DNS stand-in whose answer the test sets; `asked()` settles at the next lookup. */
function fakeDns(initial: string[]) {
  let answer = initial;
  let waiters: (() => void)[] = [];
  return {
    set(next: string[]) {
      answer = next;
    },
    asked: () => new Promise<void>((r) => waiters.push(r)),
    resolve: async () => {
      const woken = waiters;
      waiters = [];
      // The answer goes out before the waiters wake: setUrls has run when they do.
      queueMicrotask(() => woken.forEach((w) => w()));
      return answer;
    },
  };
}

/** Resolves when a log line matching `pattern` has been written. */
function logWatcher() {
  const lines: string[] = [];
  let waiters: { pattern: RegExp; done: () => void }[] = [];
  return {
    lines,
    log(line: string) {
      lines.push(line);
      waiters = waiters.filter((w) => (w.pattern.test(line) ? (w.done(), false) : true));
    },
    seen: (pattern: RegExp) =>
      lines.some((l) => pattern.test(l))
        ? Promise.resolve()
        : new Promise<void>((done) => waiters.push({ pattern, done })),
  };
}

/** An agent polling the replicas `dns` names on `port`, its channel's log to `watch`. */
function dnsAgent(
  port: number,
  dns: ReturnType<typeof fakeDns>,
  watch: ReturnType<typeof logWatcher>,
  opts: MultiGatewayOptions,
): Agent {
  return new Agent({
    channel: makeMultiGatewayChannel(`http://gateway.test:${port}`, {
      resolve: dns.resolve,
      refreshMs: 20,
      log: watch.log,
      ...opts,
    }),
    worker: { workerId: `pod-${Math.random().toString(36).slice(2, 8)}`, functionName: 'multi' },
    fn,
    codeDir: dir,
    tmpDir: join(dir, 'tmp'),
    env: {},
    log: () => undefined,
  });
}

test('a replica that left DNS is still polled, and dropped once it refuses', async () => {
  const first = replicas[0]!;
  const port = Number(new URL(first.url).port);
  const draining = await startReplica('127.0.0.2', port);
  const dns = fakeDns(['127.0.0.1', '127.0.0.2']);
  const watch = logWatcher();
  const agent = dnsAgent(port, dns, watch, { retryMs: { initial: 20, max: 200 } });
  await agent.start();
  try {
    assert.deepEqual(await call(draining, 'before'), { id: 'before' });
    // Unready, as a draining gateway is: gone from DNS, still answering calls.
    dns.set(['127.0.0.1']);
    await dns.asked();
    await dns.asked();
    assert.deepEqual(await call(draining, 'draining'), { id: 'draining' });
    assert.deepEqual(await call(first, 'other'), { id: 'other' });
    await stopReplica(draining);
    await watch.seen(/127\.0\.0\.2:\d+ left DNS and now fails/);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await call(first, `after-${i}`), { id: `after-${i}` });
    }
  } finally {
    await agent.stop();
    await stopReplica(draining).catch(() => undefined);
  }
});

test('a replica that left DNS and never fails is dropped after the linger time', async () => {
  const first = replicas[0]!;
  const port = Number(new URL(first.url).port);
  const away = await startReplica('127.0.0.3', port);
  const dns = fakeDns(['127.0.0.1', '127.0.0.3']);
  const watch = logWatcher();
  let clock = 1_000_000;
  const agent = dnsAgent(port, dns, watch, { lingerMs: 30_000, now: () => clock });
  await agent.start();
  try {
    assert.deepEqual(await call(away, 'before'), { id: 'before' });
    dns.set(['127.0.0.1']);
    await dns.asked();
    await dns.asked();
    clock += 29_999;
    await dns.asked();
    assert.ok(!watch.lines.some((l) => l.includes('no longer polled')), watch.lines.join('\n'));
    await eventually('the lingering replica polled', () =>
      away.gateway.hub.idleWorkers('multi').length === 1 ? true : undefined,
    );
    clock += 1;
    await watch.seen(/127\.0\.0\.3:\d+ left DNS 30000 ms ago: no longer polled/);
    await eventually('the poll of the dropped replica ended', () =>
      away.gateway.hub.idleWorkers('multi').length === 0 ? true : undefined,
    );
    assert.deepEqual(await call(first, 'after'), { id: 'after' });
  } finally {
    await agent.stop();
    await stopReplica(away);
  }
});

test('a cancel that arrives before its poll makes that poll answer 204 at once', async () => {
  const hub = new WorkerHub();
  const routes = makeWorkerChannelRoutes(hub);
  const server = createServer((req, res) => routes(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_selfless/worker/v1/`;
  const headers = {
    'x-selfless-worker-id': 'w1',
    'x-selfless-function-name': 'multi',
    'x-selfless-poll-id': 'p1',
  };
  try {
    assert.equal((await fetch(base + 'cancel', { method: 'POST', headers })).status, 204);
    const poll = await fetch(base + 'next', { method: 'POST', headers });
    assert.equal(poll.status, 204);
    assert.deepEqual(hub.idleWorkers('multi'), [], 'the cancelled poll did not park');
    const bad = await fetch(base + 'cancel', {
      method: 'POST',
      headers: { 'x-selfless-worker-id': 'w1', 'x-selfless-function-name': 'multi' },
    });
    assert.equal(bad.status, 400);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('an invocation given back goes to the head of the queue with a new deadline', async (t) => {
  t.mock.timers.enable({ apis: ['Date'] });
  const hub = new WorkerHub();
  const pending = (id: string) => ({
    requestId: id,
    functionName: 'multi',
    functionArn: 'arn',
    payload: Buffer.from(id),
    timeoutSeconds: 3,
    logTail: false,
    enqueuedAt: Date.now(),
  });
  const w1 = { workerId: 'w1', functionName: 'multi' };
  const w2 = { workerId: 'w2', functionName: 'multi' };
  const first = hub.invoke(pending('first'));
  void hub.invoke(pending('second'));
  const taken = await hub.next(w1, new AbortController().signal);
  assert.equal(taken.requestId, 'first');
  t.mock.timers.tick(20);
  await hub.giveBack(w1, 'first');
  // w1 no longer holds it: its late result is ignored, and w2 gets it before 'second'.
  await hub.complete(w1, { ...taken, durationMs: 0, billedDurationMs: 0, maxMemoryUsedMB: 0 });
  const again = await hub.next(w2, new AbortController().signal);
  assert.equal(again.requestId, 'first');
  assert.equal(again.deadlineMs, taken.deadlineMs + 20, 'the deadline starts again at delivery');
  await hub.complete(w2, {
    requestId: 'first',
    payload: Buffer.from('ok'),
    durationMs: 1,
    billedDurationMs: 1,
    maxMemoryUsedMB: 1,
  });
  assert.equal((await first).payload.toString(), 'ok');
  hub.drop('multi', 'Test', 'end');
});
