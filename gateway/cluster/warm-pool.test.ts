// The warm pool from the gateway's side, against the real API server: `selfless
// gateway --kubernetes --workers remote` and a real `selfless agent --pool` process
// polling it over HTTP. A function with no workers is answered by the pool worker,
// which the gateway then reports as specialized for the operator to adopt; a
// function the pool cannot serve is not ordered to it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GROUP, VERSION } from '../../crds/schema.ts';
import { DEMAND_PATH, parseDemandReport } from '../../lib/demand.ts';
import {
  eventually,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../../test/support/kubernetes.ts';
import { testServices } from '../../test/services/index.ts';
import { freePort } from '../../test/services/process.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'selfless.js');
let custom: k8s.CustomObjectsApi;
let ns: string;
let url: string;
let gateway: ChildProcess;
let agent: ChildProcess | undefined;
let gatewayLog = '';
let agentLog = '';
let codeDir: string;

const fn = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Function',
  metadata: { name },
  spec: { runtime: 'nodejs20.x', handler: 'index.handler', ...spec },
});
const create = (body: object) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functions',
    body,
  });

async function metric(name: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

before(async () => {
  const kc = await testKubeConfig();
  await installCrds(kc);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  ns = await makeNamespace(kc, 'pool');
  await create(
    fn('pooled', {
      code: {
        inline: {
          'index.mjs':
            'import { readFileSync } from "node:fs";\n' +
            'export const handler = async (e) => ({ got: e, dir: process.cwd(), ' +
            'task: process.env.LAMBDA_TASK_ROOT, name: process.env.AWS_LAMBDA_FUNCTION_NAME, ' +
            'mine: readFileSync("lib/data.txt", "utf8") });',
          'lib/data.txt': 'nested file',
        },
      },
    }),
  );
  await create(
    fn('big', {
      memorySize: 4096,
      code: { inline: { 'index.mjs': 'export const handler = async () => 1;' } },
    }),
  );
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const { kubeconfig } = await testServices();
  gateway = spawn(
    process.execPath,
    [
      BIN,
      'gateway',
      '--kubernetes',
      '--kubeconfig',
      kubeconfig,
      '--workers',
      'remote',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  gateway.stderr!.on('data', (c) => (gatewayLog += c));
  await eventually(
    'gateway listening',
    async () => gatewayLog.includes('"gateway listening"'),
    90_000,
  );
  codeDir = mkdtempSync(join(tmpdir(), 'pool-code-'));
  agent = spawn(
    process.execPath,
    [
      BIN,
      'agent',
      '--pool',
      'nodejs20.x',
      '--gateway',
      url,
      '--code',
      codeDir,
      '--max-memory-size',
      '1024',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SELFLESS_NAMESPACE: ns } },
  );
  agent.stdout!.on('data', (c) => (agentLog += c));
  agent.stderr!.on('data', (c) => (agentLog += c));
  await eventually(
    'the pool worker waits',
    async () =>
      (await metric('selfless_pool_idle_workers')).some((l) =>
        l.endsWith(`{namespace="${ns}",runtime="nodejs20.x"} 1`),
      ),
    90_000,
  );
});

after(async () => {
  for (const p of [agent, gateway]) {
    if (!p || p.exitCode !== null) continue;
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }
});

const lambda = () =>
  new LambdaClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: ns, secretAccessKey: 'x' },
    maxAttempts: 1,
  });

test('a function too large for the pool worker is refused by it, and the pool worker stays generic', async () => {
  const giveUp = new AbortController();
  const call = lambda()
    .send(new InvokeCommand({ FunctionName: 'big' }), { abortSignal: giveUp.signal })
    .catch((err: unknown) => err);
  await eventually(
    'the order refused',
    async () =>
      (await metric('selfless_pool_specializations_total')).some((l) =>
        l.endsWith(`{namespace="${ns}",runtime="nodejs20.x",outcome="failed"} 1`),
      ),
    30_000,
  );
  assert.match(agentLog, /room for 1024 MB, not 4096 MB/);
  await eventually(
    'the pool worker waits again',
    async () =>
      (await metric('selfless_pool_idle_workers')).some((l) =>
        l.endsWith(`{namespace="${ns}",runtime="nodejs20.x"} 1`),
      ),
    30_000,
  );
  giveUp.abort();
  await call;
});

test('a function with no workers is answered by a pool worker, which the gateway orders, and the demand report names its pod', async () => {
  const out = await lambda().send(
    new InvokeCommand({ FunctionName: 'pooled', Payload: Buffer.from('{"n":1}') }),
  );
  assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload!).toString());
  const body = JSON.parse(Buffer.from(out.Payload!).toString()) as Record<string, unknown>;
  assert.deepEqual(body, {
    got: { n: 1 },
    dir: codeDir,
    task: codeDir,
    name: 'pooled',
    mine: 'nested file',
  });
  assert.equal(readFileSync(join(codeDir, 'index.mjs'), 'utf8').includes('handler'), true);
  const report = parseDemandReport(await (await fetch(`${url}${DEMAND_PATH}`)).text());
  const entry = report.functions.find((f) => f.namespace === ns && f.name === 'pooled');
  assert.deepEqual(entry?.specializedPods, [hostname()]);
  assert.ok(
    (await metric('selfless_pool_specializations_total')).some((l) =>
      l.endsWith(`{namespace="${ns}",runtime="nodejs20.x",outcome="ok"} 1`),
    ),
  );
  // It is the function's worker now: the next call runs warm on it, and the pool is empty.
  const again = await lambda().send(new InvokeCommand({ FunctionName: 'pooled' }));
  assert.equal(again.FunctionError, undefined);
  assert.ok(
    (await metric('selfless_pool_idle_workers')).some((l) =>
      l.endsWith(`{namespace="${ns}",runtime="nodejs20.x"} 0`),
    ),
  );
});
