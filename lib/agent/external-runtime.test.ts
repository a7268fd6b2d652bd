// Image functions: the runtime runs in another container, started by Kubernetes,
// not by the agent. Here our Node.js bootstrap, started by the test as a separate
// process pointed at the agent's fixed Runtime API address, plays that container;
// the test kills and restarts it where the kubelet would.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseFunctionSpec, type FunctionDefinition } from '../function.ts';
import { Agent } from './agent.ts';
import { launchSpec } from './runtime-process.ts';
import { QueueChannel } from '../../test/support/queue-channel.ts';

let dir: string;
let fn: FunctionDefinition;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'selfless-external-'));
  writeFileSync(
    join(dir, 'index.mjs'),
    `export const handler = async (e) => {
  if (e.sleepMs) {
    console.log('sleeping');
    await new Promise((r) => setTimeout(r, e.sleepMs));
  }
  return { pid: process.pid, got: e };
};`,
  );
  const spec = parseFunctionSpec({
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: { directory: dir },
    timeout: 1,
  });
  assert.ok(spec.ok);
  fn = { name: 'image-fn', namespace: 'default', spec: spec.value };
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The "function container": our bootstrap with the environment Lambda gives it. */
function startRuntime(address: string): { child: ChildProcess; output: () => string } {
  const spec = launchSpec({
    fn,
    codeDir: dir,
    tmpDir: join(dir, 'tmp'),
    runtimeApi: address,
    platformEnv: {},
    region: 'us-east-1',
    logStreamName: 'test',
  });
  const child = spawn(spec.command, spec.args, { cwd: dir, env: spec.env, stdio: 'pipe' });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { child, output: () => out };
}

/** What the kubelet does to a container: kill it and wait until it is gone. */
async function kill(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  // Its connections close a moment after the exit.
  await new Promise((r) => setTimeout(r, 50));
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function startAgent(channel: QueueChannel): Promise<Agent> {
  const agent = new Agent({
    channel,
    worker: { workerId: 'pod-1', functionName: 'image-fn' },
    fn,
    codeDir: dir,
    tmpDir: join(dir, 'tmp'),
    env: {},
    log: () => undefined,
    runtimeApiAddress: '127.0.0.1:0',
    externalRuntime: true,
  });
  await agent.start();
  return agent;
}

function body(r: { payload: Buffer }): Record<string, unknown> {
  return JSON.parse(r.payload.toString()) as Record<string, unknown>;
}

describe('an external runtime (image functions)', () => {
  it('is not started by the agent; it connects, and its first next ends the init', async (t) => {
    const channel = new QueueChannel('image-fn');
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    const agent = await startAgent(channel);
    const runtimes: ChildProcess[] = [];
    try {
      // Every timer the agent has set fires now, as if it had waited as long as it likes.
      t.mock.timers.runAll();
      await new Promise((r) => setImmediate(r));
      assert.equal(channel.nextCalls, 0, 'no runtime connected: the agent is not warm');
      t.mock.timers.reset();
      const rt = startRuntime(agent.runtimeApiAddress!);
      runtimes.push(rt.child);
      const r = await channel.invoke({ n: 1 });
      assert.equal(r.functionError, undefined);
      assert.deepEqual(body(r), { pid: rt.child.pid, got: { n: 1 } });
      assert.ok(r.initDurationMs! > 0, 'the cold start is reported');
      assert.equal(agent.runtimeNeedsRestart, false);
    } finally {
      await agent.stop();
      runtimes.forEach((c) => c.kill('SIGKILL'));
    }
  });

  it('on timeout answers with the timeout error, refuses the late response, needs a restart', async () => {
    const channel = new QueueChannel('image-fn');
    const agent = await startAgent(channel);
    const first = startRuntime(agent.runtimeApiAddress!);
    const runtimes = [first.child];
    try {
      const r = await channel.invoke({ sleepMs: 2000 }, { timeoutSeconds: 1 });
      assert.equal(r.functionError, 'Unhandled');
      assert.match(body(r).errorMessage as string, /Task timed out after 1\.00 seconds/);
      assert.equal(agent.runtimeNeedsRestart, true, 'the liveness probe must restart it');
      // The runtime cannot be killed: it finishes and posts its answer for the old id.
      // Refused, so the call was answered at the deadline, before the runtime finished.
      await until('the late response', () => /answered 400/.test(first.output()));
      assert.match(first.output(), /invocation\/[^/]+\/response answered 400: .*InvalidRequestID/);
      // What the kubelet does when the probe fails: kill the container, start it again.
      await kill(first.child);
      const second = startRuntime(agent.runtimeApiAddress!);
      runtimes.push(second.child);
      const again = await channel.invoke({ n: 2 });
      assert.deepEqual(body(again), { pid: second.child.pid, got: { n: 2 } });
      assert.ok(again.initDurationMs !== undefined, 'a fresh init is reported');
      assert.equal(agent.runtimeNeedsRestart, false);
    } finally {
      await agent.stop();
      runtimes.forEach((c) => c.kill('SIGKILL'));
    }
  });

  it('a runtime that crashed mid-invocation: timeout error, and its restart serves the next', async () => {
    const channel = new QueueChannel('image-fn');
    const agent = await startAgent(channel);
    const first = startRuntime(agent.runtimeApiAddress!);
    const runtimes = [first.child];
    try {
      await channel.nextCalled();
      const pending = channel.invoke({ sleepMs: 5000 }, { timeoutSeconds: 1 });
      await until('the runtime took the event', () => first.output().includes('sleeping'));
      await kill(first.child);
      // Restarted at once (restartPolicy Always): its next waits while the old call is open.
      const second = startRuntime(agent.runtimeApiAddress!);
      runtimes.push(second.child);
      const r = await pending;
      assert.match(body(r).errorMessage as string, /Task timed out after 1\.00 seconds/);
      // Warm again through the restarted runtime, with nothing more from the test.
      await channel.nextCalled(2);
      assert.equal(agent.runtimeNeedsRestart, false, 'the restarted runtime was already waiting');
      const again = await channel.invoke({ n: 3 });
      assert.deepEqual(body(again), { pid: second.child.pid, got: { n: 3 } });
      assert.equal(agent.runtimeNeedsRestart, false);
    } finally {
      await agent.stop();
      runtimes.forEach((c) => c.kill('SIGKILL'));
    }
  });
});
