// perExecutionEnvironmentMaxConcurrency through the gateway, with the real AWS SDK
// client: environments that take several events at once (one hub.next per free
// slot, as the agent does), and quotas and scaling that count events, not
// environments.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { parseFunctionSpec, type FunctionDefinition } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import type { WorkerChannel, WorkerIdentity } from '../lib/worker-channel/channel.ts';
import { makeGateway, type Gateway } from './app.ts';
import type { Driver, EnvironmentHandle } from './pool.ts';
import { configChange } from './lambda-api/fields.ts';
import { FunctionRegistry } from './registry.ts';

function define(name: string, spec: Record<string, unknown>): FunctionDefinition {
  const parsed = parseFunctionSpec({
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    code: { inline: {} },
    ...spec,
  });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return { name, namespace: 'default', spec: parsed.value };
}

/** Counts arrivals; `reached(n)` resolves once n events are running. */
class Arrivals {
  running = 0;
  peakPerWorker = new Map<string, number>();
  private perWorker = new Map<string, number>();
  private waiters: { n: number; resolve: () => void }[] = [];

  enter(workerId: string): void {
    this.running++;
    const n = (this.perWorker.get(workerId) ?? 0) + 1;
    this.perWorker.set(workerId, n);
    this.peakPerWorker.set(workerId, Math.max(this.peakPerWorker.get(workerId) ?? 0, n));
    this.waiters = this.waiters.filter((w) => (this.running >= w.n ? (w.resolve(), false) : true));
  }

  leave(workerId: string): void {
    this.running--;
    this.perWorker.set(workerId, this.perWorker.get(workerId)! - 1);
  }

  reached(n: number): Promise<void> {
    if (this.running >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

/** Environments with one loop per slot, each answering when the gate opens. */
function slotDriver(started: string[], arrivals: Arrivals, gate: () => Promise<void>): Driver {
  return {
    name: 'slots',
    async start(
      fn: FunctionDefinition,
      worker: WorkerIdentity,
      hub: WorkerChannel,
    ): Promise<EnvironmentHandle> {
      started.push(worker.workerId);
      const abort = new AbortController();
      const slot = async () => {
        for (;;) {
          const inv = await hub.next(worker, abort.signal).catch(() => undefined);
          if (!inv) return;
          arrivals.enter(worker.workerId);
          await gate();
          arrivals.leave(worker.workerId);
          await hub.complete(worker, {
            requestId: inv.requestId,
            payload: Buffer.from(JSON.stringify(worker.workerId)),
            durationMs: 1,
            billedDurationMs: 1,
            maxMemoryUsedMB: 1,
          });
        }
      };
      const slots = fn.spec.perExecutionEnvironmentMaxConcurrency ?? 1;
      const exited = Promise.all(Array.from({ length: slots }, slot)).then(() => undefined);
      return { exited, stop: async () => abort.abort() };
    },
  };
}

describe('gateway with perExecutionEnvironmentMaxConcurrency', () => {
  const registry = new FunctionRegistry();
  const started: string[] = [];
  const arrivals = new Arrivals();
  let open!: () => void;
  let gateOpen = new Promise<void>((r) => (open = r));
  let gateway: Gateway;
  let server: Server;
  let client: LambdaClient;

  before(async () => {
    registry.put(define('many', { perExecutionEnvironmentMaxConcurrency: 4 }));
    registry.put(
      define('reserved', {
        perExecutionEnvironmentMaxConcurrency: 4,
        reservedConcurrentExecutions: 5,
      }),
    );
    gateway = makeGateway({
      registry,
      log: makeLogger('gateway', { level: 'error' }),
      quotas: { accountLimit: 200, unreservedFloor: 100 },
      driver: slotDriver(started, arrivals, () => gateOpen),
    });
    server = gateway.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    client = new LambdaClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
  });

  after(async () => {
    open();
    client.destroy();
    await gateway.close();
    server.close();
  });

  const invoke = (name: string) =>
    client.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{}') }));

  test('8 concurrent events of a function with max concurrency 4 start 2 environments of 4 events each', async () => {
    const calls = Array.from({ length: 8 }, () => invoke('many'));
    await arrivals.reached(8);
    const mine = started.filter((w) => w.startsWith('many-'));
    assert.equal(mine.length, 2, `environments started: ${mine.join(', ')}`);
    for (const w of mine) assert.equal(arrivals.peakPerWorker.get(w), 4);
    open();
    const results = await Promise.all(calls);
    assert.ok(results.every((r) => r.StatusCode === 200 && r.FunctionError === undefined));
    gateOpen = new Promise<void>((r) => (open = r));
    // Warm: another 8 reuse the same two environments.
    const again = Array.from({ length: 8 }, () => invoke('many'));
    await arrivals.reached(8);
    open();
    await Promise.all(again);
    assert.equal(started.filter((w) => w.startsWith('many-')).length, 2);
    gateOpen = new Promise<void>((r) => (open = r));
  });

  test('reserved concurrency counts events: 5 reserved with 4 per environment admits 5 of 6 and runs them on 2 environments', async () => {
    let refused!: () => void;
    const oneRefused = new Promise<void>((r) => (refused = r));
    const calls = Array.from({ length: 6 }, () =>
      invoke('reserved').then(
        () => 'ok',
        (err: unknown) => {
          refused();
          return err;
        },
      ),
    );
    // Five run and hold their slots until the sixth has been refused.
    await Promise.all([arrivals.reached(5), oneRefused]);
    open();
    const outcomes = await Promise.all(calls);
    const throttled = outcomes.filter((o) => o instanceof TooManyRequestsException);
    assert.equal(throttled.length, 1);
    assert.equal(
      (throttled[0] as TooManyRequestsException).Reason,
      'ReservedFunctionConcurrentInvocationLimitExceeded',
    );
    assert.equal(outcomes.filter((o) => o === 'ok').length, 5);
    assert.equal(started.filter((w) => w.startsWith('reserved-')).length, 2);
    gateOpen = new Promise<void>((r) => (open = r));
  });

  test('GetFunction reports the setting as Lambda Managed Instances do', async () => {
    const out = await client.send(new GetFunctionCommand({ FunctionName: 'many' }));
    assert.deepEqual(out.Configuration?.CapacityProviderConfig, {
      LambdaManagedInstancesCapacityProviderConfig: {
        CapacityProviderArn: 'arn:aws:lambda:us-east-1:000000000000:capacity-provider:selfless',
        PerExecutionEnvironmentMaxConcurrency: 4,
      },
    });
    const plain = await client.send(new GetFunctionCommand({ FunctionName: 'reserved' }));
    assert.equal(
      plain.Configuration?.CapacityProviderConfig?.LambdaManagedInstancesCapacityProviderConfig
        ?.PerExecutionEnvironmentMaxConcurrency,
      4,
    );
  });
});

test('the API field CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig.PerExecutionEnvironmentMaxConcurrency sets the spec, within 1-1600', () => {
  const config = (n: unknown) => ({
    CapacityProviderConfig: {
      LambdaManagedInstancesCapacityProviderConfig: {
        CapacityProviderArn: 'arn:aws:lambda:us-east-1:000000000000:capacity-provider:mine',
        PerExecutionEnvironmentMaxConcurrency: n,
      },
    },
  });
  assert.equal(configChange(config(32), undefined).spec.perExecutionEnvironmentMaxConcurrency, 32);
  assert.equal(configChange({}, undefined).spec.perExecutionEnvironmentMaxConcurrency, undefined);
  for (const bad of [0, 1601]) {
    assert.throws(
      () => configChange(config(bad), undefined),
      (err: Error) =>
        err.name === 'ValidationException' &&
        err.message.includes(
          'capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig.perExecutionEnvironmentMaxConcurrency',
        ),
    );
  }
});
