// The pool's decisions, with environments that are loops in this process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFunctionSpec, type FunctionDefinition } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import type { WorkerChannel, WorkerIdentity } from '../lib/worker-channel/channel.ts';
import { WorkerHub } from './hub.ts';
import { WorkerPool, type Driver } from './pool.ts';
import { FunctionRegistry } from './registry.ts';

function define(name: string, spec: Record<string, unknown> = {}): FunctionDefinition {
  const parsed = parseFunctionSpec({
    runtime: 'nodejs20.x',
    handler: 'i.h',
    code: { inline: {} },
    ...spec,
  });
  assert.ok(parsed.ok);
  return { name, namespace: 'default', spec: parsed.value };
}

function setup(idleTimeoutMs: number) {
  const live = new Map<string, FunctionDefinition>();
  const driver: Driver = {
    name: 'loop',
    async start(fn, worker: WorkerIdentity, hub: WorkerChannel) {
      live.set(worker.workerId, fn);
      const abort = new AbortController();
      const exited = (async () => {
        for (;;) {
          const inv = await hub.next(worker, abort.signal).catch(() => undefined);
          if (!inv) break;
          await hub.complete(worker, {
            requestId: inv.requestId,
            payload: Buffer.from(JSON.stringify(fn.spec.memorySize)),
            durationMs: 1,
            billedDurationMs: 1,
            maxMemoryUsedMB: 1,
          });
        }
        live.delete(worker.workerId);
      })();
      return { exited, stop: async () => abort.abort() };
    },
  };
  const registry = new FunctionRegistry();
  const hub = new WorkerHub();
  const pool = new WorkerPool(hub, registry, driver, {
    idleTimeoutMs,
    log: makeLogger('pool', { level: 'error' }),
  });
  const call = (name: string) =>
    hub.invoke({
      requestId: crypto.randomUUID(),
      functionName: name,
      functionArn: name,
      payload: Buffer.from('{}'),
      timeoutSeconds: 3,
      logTail: false,
      enqueuedAt: Date.now(),
    });
  const count = (name: string) => [...live.values()].filter((f) => f.name === name).length;
  return { registry, hub, pool, call, count, live };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a warm environment is reused; concurrent calls start one environment each', async () => {
  const { registry, pool, call, count } = setup(60_000);
  registry.put(define('f'));
  await call('f');
  await call('f');
  assert.equal(count('f'), 1, 'the second call reused the first environment');
  await Promise.all([call('f'), call('f'), call('f')]);
  assert.ok(count('f') >= 2 && count('f') <= 3, `environments: ${count('f')}`);
  await pool.close();
  assert.equal(count('f'), 0);
});

test('idle environments are reaped after the idle timeout, down to the provisioned floor', async () => {
  const { registry, pool, call, count } = setup(150);
  registry.put(define('p', { provisionedConcurrentExecutions: 1 }));
  registry.put(define('q'));
  await eventually(() => count('p') === 1, 'provisioned environment started before any call');
  await Promise.all([call('p'), call('p'), call('p'), call('q')]);
  assert.ok(count('p') >= 2);
  await eventually(() => count('p') === 1 && count('q') === 0, 'reaped to the floor');
  await pool.close();
});

test('a changed definition replaces idle environments; calls then run on the new one', async () => {
  const { registry, pool, call, count, live } = setup(60_000);
  registry.put(define('v', { memorySize: 128 }));
  assert.equal((await call('v')).payload.toString(), '128');
  registry.put(define('v', { memorySize: 256 }));
  assert.equal((await call('v')).payload.toString(), '256');
  await eventually(
    () => count('v') === 1 && [...live.values()].every((f) => f.spec.memorySize === 256),
    'old one stopped',
  );
  await pool.close();
});

test('a removed function stops its environments', async () => {
  const { registry, pool, count, hub } = setup(60_000);
  registry.put(define('gone', { provisionedConcurrentExecutions: 2 }));
  await eventually(() => count('gone') === 2, 'provisioned');
  registry.remove('gone');
  await eventually(() => count('gone') === 0, 'stopped');
  assert.equal(hub.queued('gone'), 0);
  await pool.close();
});
