import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { parseFunctionSpec } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import type { WorkerChannel, WorkerIdentity } from '../lib/worker-channel/channel.ts';
import { makeGateway, type Gateway } from './app.ts';
import { FunctionRegistry } from './registry.ts';

let gateway: Gateway;
let server: Server;
let url: string;

before(async () => {
  const registry = new FunctionRegistry();
  for (const [name, reserved] of [
    ['m', undefined],
    ['zero', 0],
  ] as const) {
    const spec = parseFunctionSpec({
      runtime: 'nodejs20.x',
      handler: 'i.h',
      code: { inline: {} },
      memorySize: 512,
      ...(reserved !== undefined && { reservedConcurrentExecutions: reserved }),
    });
    assert.ok(spec.ok);
    registry.put({ name, namespace: 'default', spec: spec.value });
  }
  gateway = makeGateway({
    registry,
    log: makeLogger('gateway', { level: 'error' }),
    driver: {
      name: 'fake-runtime',
      async start(_fn, worker: WorkerIdentity, hub: WorkerChannel) {
        const abort = new AbortController();
        let first = true;
        const exited = (async () => {
          for (;;) {
            const inv = await hub.next(worker, abort.signal).catch(() => undefined);
            if (!inv) return;
            await hub.complete(worker, {
              requestId: inv.requestId,
              payload: inv.payload,
              durationMs: 12,
              billedDurationMs: 1000,
              maxMemoryUsedMB: 20,
              ...(first && { initDurationMs: 80 }),
            });
            first = false;
          }
        })();
        return { exited, stop: async () => abort.abort() };
      },
    },
  });
  server = gateway.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await gateway.close();
  server.closeAllConnections();
  server.close();
});

test('/metrics counts invocations, throttles, cold starts, durations and billed GB-seconds', async () => {
  const invoke = (fn: string) =>
    fetch(`${url}/2015-03-31/functions/${fn}/invocations`, { method: 'POST', body: '{}' });
  assert.equal((await invoke('m')).status, 200);
  assert.equal((await invoke('m')).status, 200);
  assert.equal((await invoke('zero')).status, 429);
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1]);
  assert.equal(
    value(/^selfless_function_invocations_total\{function="m",outcome="success"\} (\S+)$/m),
    2,
  );
  assert.equal(
    value(/^selfless_function_invocations_total\{function="zero",outcome="throttled"\} (\S+)$/m),
    1,
  );
  assert.equal(
    value(
      /^selfless_function_throttles_total\{function="zero",reason="ReservedFunctionConcurrentInvocationLimitExceeded"\} (\S+)$/m,
    ),
    1,
  );
  assert.equal(value(/^selfless_function_cold_starts_total\{function="m"\} (\S+)$/m), 1);
  assert.equal(value(/^selfless_function_init_duration_seconds_count\{function="m"\} (\S+)$/m), 1);
  assert.equal(value(/^selfless_function_duration_seconds_sum\{function="m"\} (\S+)$/m), 0.024);
  // 2 invocations x 1 s billed x 0.5 GB
  assert.equal(value(/^selfless_function_billed_gb_seconds_total\{function="m"\} (\S+)$/m), 1);
  assert.equal(value(/^selfless_function_concurrent_executions\{function="m"\} (\S+)$/m), 0);
});
