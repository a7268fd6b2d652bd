// bench/replicas: what it costs an agent to poll every gateway replica at once.
// One real agent (real Node.js runtime, a no-op handler) serves sequential calls
// through 1, 2 and 3 gateway replicas (makeGateway with remote workers, each on its
// own port, the agent on the HTTP worker channel); calls go to the replicas in turn,
// as a Service spreads them. Baseline: the agent polling 1 replica, in the same run.
// Each round trip with N replicas adds N-1 cancels (and the polls they end), so
// the cost grows with N. Everything but the runtime shares this process's one
// event loop, which makes the added work show up as added latency.
//
//   node --import tsx bench/replicas/run.ts [--calls 2000] [--passes 2]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeGateway, type Gateway } from '../../gateway/app.ts';
import { FunctionRegistry } from '../../gateway/registry.ts';
import { parseFunctionSpec, type FunctionDefinition } from '../../lib/function.ts';
import { makeLogger } from '../../lib/log.ts';
import { makeMultiGatewayChannel } from '../../lib/worker-channel/fanout.ts';
import { Agent } from '../../lib/agent/agent.ts';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '2000' }, passes: { type: 'string', default: '2' } },
});
const calls = Number(values.calls);
const passes = Number(values.passes);

const dir = mkdtempSync(join(tmpdir(), 'selfless-bench-replicas-'));
writeFileSync(join(dir, 'index.mjs'), 'export const handler = async () => ({ ok: true });');
const spec = parseFunctionSpec({
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  code: { directory: dir },
});
if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
const fn: FunctionDefinition = { name: 'bench', namespace: 'default', spec: spec.value };
const client = new HttpAgent({ keepAlive: true, maxSockets: 1 });

interface Replica {
  gateway: Gateway;
  server: Server;
  port: number;
}

async function startReplica(): Promise<Replica> {
  const registry = new FunctionRegistry();
  registry.put(fn);
  const gateway = makeGateway({
    registry,
    log: makeLogger('gateway', { level: 'error' }),
    remoteWorkers: {},
  });
  const server = gateway.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { gateway, server, port: (server.address() as AddressInfo).port };
}

function invoke(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/2015-03-31/functions/bench/invocations',
        agent: client,
        headers: { 'Content-Type': 'application/json', 'Content-Length': 2 },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 && !res.headers['x-amz-function-error']
            ? resolve()
            : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

interface Figures {
  perSecond: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  givenBack: number;
}

async function measure(n: number): Promise<Figures> {
  const replicas: Replica[] = [];
  for (let i = 0; i < n; i++) replicas.push(await startReplica());
  const lines: string[] = [];
  const agent = new Agent({
    channel: makeMultiGatewayChannel(
      replicas.map((r) => `http://127.0.0.1:${r.port}`),
      { log: (l) => lines.push(l) },
    ),
    worker: { workerId: `bench-${n}`, functionName: 'bench' },
    fn,
    codeDir: dir,
    tmpDir: join(dir, 'tmp'),
    env: {},
    log: () => undefined,
  });
  await agent.start();
  try {
    for (let i = 0; i < 200; i++) await invoke(replicas[i % n]!.port);
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await invoke(replicas[i % n]!.port);
      times.push(performance.now() - t);
    }
    const total = performance.now() - t0;
    times.sort((a, b) => a - b);
    return {
      perSecond: (calls / total) * 1000,
      meanMs: total / calls,
      p50Ms: times[Math.floor(calls * 0.5)]!,
      p99Ms: times[Math.floor(calls * 0.99)]!,
      givenBack: lines.filter((l) => l.includes('giving')).length,
    };
  } finally {
    await agent.stop();
    for (const r of replicas) {
      r.server.closeAllConnections();
      r.server.close();
      await r.gateway.close();
    }
    client.destroy();
  }
}

const rows: string[] = [];
for (let pass = 1; pass <= passes; pass++) {
  let baseline: Figures | undefined;
  for (const n of [1, 2, 3]) {
    const f = await measure(n);
    baseline ??= f;
    rows.push(
      `| ${pass} | ${n} | ${f.perSecond.toFixed(0)} | ${f.meanMs.toFixed(3)} | ${f.p50Ms.toFixed(3)} | ${f.p99Ms.toFixed(3)} | ${(f.perSecond / baseline.perSecond).toFixed(2)}x | +${(f.meanMs - baseline.meanMs).toFixed(3)} ms | ${f.givenBack} |`,
    );
  }
}
console.log(`${calls} sequential calls per row, after 200 warm-up calls\n`);
console.log(
  '| pass | replicas polled | calls/s | mean ms | p50 ms | p99 ms | throughput vs 1 replica | added mean latency | given back |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
rmSync(dir, { recursive: true, force: true });
