// `selfless agent` as a pod runs it: a separate process pulling work over the HTTP
// worker channel from a gateway (here: the routes over a queue channel).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it, test } from 'node:test';
import { makeWorkerChannelRoutes } from '../lib/worker-channel/server.ts';
import { parseFunctionSpec, type FunctionSpec } from '../lib/function.ts';
import { WorkerHub } from '../gateway/hub.ts';
import { makeAgentConfig } from '../operator/function/config-maps.ts';
import { makeDeployment } from '../operator/function/deployment.ts';
import type { FunctionObject, WorkerConfig } from '../operator/function/function-object.ts';
import { definitionFromArgs } from '../runtime-images/agent/main.ts';
import { launchSpec } from '../lib/agent/runtime-process.ts';
import { QueueChannel } from './support/queue-channel.ts';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const bin = resolve(import.meta.dirname, '../bin/selfless.js');

describe('selfless agent', () => {
  it('serves invocations from a gateway over HTTP and leaves on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfless-agent-cli-'));
    writeFileSync(
      join(dir, 'index.mjs'),
      'export const handler = async (e, c) => ({ echo: e, region: process.env.AWS_REGION, fn: c.functionName });',
    );
    const queue = new QueueChannel('greeter');
    const routes = makeWorkerChannelRoutes(queue, { token: 't0k' });
    const server = createServer((req, res) => void routes(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const child = spawn(
      process.execPath,
      [
        bin,
        'agent',
        '--gateway',
        url,
        '--function',
        'greeter',
        '--code',
        dir,
        '--runtime',
        'nodejs20.x',
        '--handler',
        'index.handler',
        '--memory-size',
        '256',
      ],
      {
        env: { ...process.env, AWS_REGION: 'ap-south-1', SELFLESS_WORKER_TOKEN: 't0k' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const r = await queue.invoke({ hi: 1 });
      assert.deepEqual(JSON.parse(r.payload.toString()), {
        echo: { hi: 1 },
        region: 'ap-south-1',
        fn: 'greeter',
      });
      assert.ok(r.initDurationMs! > 0);
      const exited = new Promise<number | null>((r2) => child.once('exit', (code) => r2(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(queue.left.length, 1);
      assert.match(out, /REPORT RequestId: .*\tMemory Size: 256 MB\t/);
    } finally {
      child.kill('SIGKILL');
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on SIGTERM finishes the call in flight before it leaves, as a pod in a rollout must', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfless-agent-drain-'));
    const release = join(dir, 'go');
    writeFileSync(
      join(dir, 'index.mjs'),
      `import { existsSync } from 'node:fs';
export const handler = async () => {
  console.log('holding');
  while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 5));
  return { done: true };
};`,
    );
    const queue = new QueueChannel('holder');
    const routes = makeWorkerChannelRoutes(queue, {});
    const server = createServer((req, res) => void routes(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const child = spawn(
      process.execPath,
      [bin, 'agent', '--gateway', url, '--function', 'holder', '--code', dir].concat([
        '--runtime',
        'nodejs20.x',
        '--handler',
        'index.handler',
      ]),
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const call = queue.invoke({});
      while (!out.includes('\tholding')) await new Promise((r) => setTimeout(r, 5));
      const exited = new Promise<number | null>((r2) => child.once('exit', (code) => r2(code)));
      child.kill('SIGTERM');
      // Released only after the signal: an agent that stopped at once would have killed
      // the runtime and answered Runtime.ExitError.
      writeFileSync(release, '');
      const r = await call;
      assert.equal(r.functionError, undefined, r.payload.toString());
      assert.deepEqual(JSON.parse(r.payload.toString()), { done: true });
      assert.equal(await exited, 0);
      assert.equal(queue.left.length, 1);
    } finally {
      child.kill('SIGKILL');
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs an image function's agent with the operator's exact arguments, beside an external runtime", async () => {
    const root = mkdtempSync(join(tmpdir(), 'selfless-agent-image-'));
    const code = join(root, 'task');
    mkdirSync(code);
    writeFileSync(join(code, 'index.mjs'), 'export const handler = async (e) => ({ image: e });');
    const parsed = parseFunctionSpec({
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { imageURI: 'registry.example/f:1' },
    });
    assert.ok(parsed.ok);
    const f = {
      def: { name: 'f', namespace: 'team-a', spec: parsed.value as FunctionSpec },
      uid: 'u',
    };
    const cfg = {
      gatewayUrl: 'http://gw:8080',
      tablesUrl: 'http://tables:8000',
      region: 'eu-west-1',
      runtimeImages: {},
      agentImage: 'selfless:1',
      replicas: 1,
    };
    const pod = makeDeployment(f, cfg).spec!.template.spec!;
    const sidecar = pod.initContainers!.find((c) => c.name === 'agent')!;
    const config = join(root, 'etc');
    mkdirSync(config);
    for (const [k, v] of Object.entries(makeAgentConfig(f).data!))
      writeFileSync(join(config, k), v);

    // A real hub behind the routes: it hands work only to workers of `team-a/f`.
    const hub = new WorkerHub();
    const routes = makeWorkerChannelRoutes(hub);
    const server = createServer((req, res) => void routes(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const apiPort = await freePort();
    const livenessPort = await freePort();
    const args = sidecar.args!.map((a) =>
      a === cfg.gatewayUrl
        ? gateway
        : a === '127.0.0.1:9001'
          ? `127.0.0.1:${apiPort}`
          : a.startsWith('/etc/selfless/')
            ? join(config, a.slice('/etc/selfless/'.length))
            : a === '/var/task'
              ? code
              : a === '/tmp'
                ? join(root, 'tmp')
                : a,
    );
    assert.ok(args.includes('--external-runtime'));
    const namespaceVar = sidecar.env!.find((e) => e.name === 'SELFLESS_NAMESPACE')!.value!;
    const child = spawn(process.execPath, [bin, ...args, '--liveness-port', String(livenessPort)], {
      env: { ...process.env, SELFLESS_NAMESPACE: namespaceVar },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    // The function container: our bootstrap, started by the test, not by the agent.
    const spec = launchSpec({
      fn: { ...f.def, spec: { ...f.def.spec, code: { directory: code } } },
      codeDir: code,
      tmpDir: join(root, 'tmp'),
      runtimeApi: `127.0.0.1:${apiPort}`,
      platformEnv: {},
      region: 'eu-west-1',
      logStreamName: 'test',
    });
    // It may start before the agent listens and exit: restarted, as the kubelet does.
    let runtime: ChildProcess | undefined;
    let stopped = false;
    const startRuntime = () => {
      if (stopped) return;
      runtime = spawn(spec.command, spec.args, { cwd: code, env: spec.env, stdio: 'ignore' });
      runtime.once('exit', () => setTimeout(startRuntime, 100));
    };
    startRuntime();
    try {
      const result = await hub.invoke({
        requestId: 'r-1',
        functionName: 'team-a/f',
        functionArn: 'arn:aws:lambda:eu-west-1:1:function:f',
        payload: Buffer.from('{"x":1}'),
        timeoutSeconds: 3,
        logTail: false,
        enqueuedAt: Date.now(),
      });
      assert.deepEqual(JSON.parse(result.payload.toString()), { image: { x: 1 } });
      const health = await fetch(`http://127.0.0.1:${livenessPort}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${livenessPort}/other`)).status, 404);
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(out, /REPORT RequestId: r-1\t/);
    } finally {
      child.kill('SIGKILL');
      stopped = true;
      runtime?.kill('SIGKILL');
      server.closeAllConnections();
      server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("applies a Function's loggingConfig from the operator's agent manifest: JSON records, platform.start/report, levels", async () => {
    const root = mkdtempSync(join(tmpdir(), 'selfless-agent-logging-'));
    const code = join(root, 'task');
    mkdirSync(code);
    writeFileSync(
      join(code, 'app.py'),
      'import logging\ndef handler(e, c):\n    logging.info("dropped")\n    logging.error("kept")\n    return 1\n',
    );
    const parsed = parseFunctionSpec({
      runtime: 'python3.12',
      handler: 'app.handler',
      code: { directory: code },
      loggingConfig: { logFormat: 'JSON', applicationLogLevel: 'ERROR' },
    });
    assert.ok(parsed.ok);
    const f = { def: { name: 'logs', namespace: 'default', spec: parsed.value }, uid: 'u' };
    const manifest = join(root, 'function.yaml');
    writeFileSync(manifest, Object.values(makeAgentConfig(f).data!)[0]!);
    const queue = new QueueChannel('logs');
    const routes = makeWorkerChannelRoutes(queue, { token: 't0k' });
    const server = createServer((req, res) => void routes(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const child = spawn(
      process.execPath,
      [
        bin,
        'agent',
        '--gateway',
        url,
        '--manifest',
        manifest,
        '--code',
        code,
        '--tmp',
        join(root, 'tmp'),
      ],
      {
        env: { ...process.env, SELFLESS_WORKER_TOKEN: 't0k' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const r = await queue.invoke({}, { logTail: true });
      assert.equal(r.payload.toString(), '1');
      const records = Buffer.from(r.logResult!, 'base64')
        .toString()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        records.map((x) => x.type ?? `${String(x.level)} ${String(x.message)}`),
        ['platform.start', 'ERROR kept', 'platform.report'],
      );
      assert.doesNotMatch(out, /START RequestId|dropped/);
    } finally {
      child.kill('SIGKILL');
      server.closeAllConnections();
      server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses --external-runtime without --runtime-api', async () => {
    const child = spawn(
      process.execPath,
      [
        bin,
        'agent',
        '--gateway',
        'http://127.0.0.1:1',
        '--function',
        'f',
        '--code',
        '.',
        '--runtime',
        'nodejs20.x',
        '--handler',
        'i.h',
        '--external-runtime',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 2);
    assert.match(err, /--external-runtime needs --runtime-api HOST:PORT/);
  });

  it('builds the definition from a manifest, flags overriding it, and names bad input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfless-agent-cli-'));
    try {
      const manifest = join(dir, 'fn.yaml');
      writeFileSync(
        manifest,
        'apiVersion: selfless.dev/v1alpha1\nkind: Function\nmetadata: { name: orders }\nspec:\n  runtime: python3.12\n  handler: app.handler\n  code: { directory: . }\n  timeout: 9\n  environment: { variables: { TABLE: orders } }\n',
      );
      const fn = definitionFromArgs([
        '--manifest',
        manifest,
        '--code',
        dir,
        '--memory-size',
        '512',
      ]);
      assert.ok(typeof fn !== 'string', String(fn));
      assert.equal(fn.name, 'orders');
      assert.equal(fn.spec.runtime, 'python3.12');
      assert.equal(fn.spec.timeout, 9);
      assert.equal(fn.spec.memorySize, 512);
      assert.deepEqual(fn.spec.environment.variables, { TABLE: 'orders' });
      assert.equal(
        definitionFromArgs(['--code', dir, '--runtime', 'nodejs20.x']),
        '--function is required',
      );
      assert.match(
        String(
          definitionFromArgs([
            '--function',
            'f',
            '--code',
            dir,
            '--runtime',
            'nodejs20.x',
            '--handler',
            'i.h',
            '--memory-size',
            '64',
          ]),
        ),
        /spec.memorySize: must be between 128 and 10240, got 64/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The operator builds the worker pod's command line; the agent parses it. One test
// over both, so neither side can change the contract alone.
const workerConfig: WorkerConfig = {
  gatewayUrl: 'http://gw:8080',
  tablesUrl: 'http://tables:8000',
  region: 'eu-west-1',
  runtimeImages: { 'nodejs20.x': 'rt/node20:1', 'python3.12': 'rt/py312:1' },
  agentImage: 'selfless:1',
  replicas: 3,
};

function fn(spec: Record<string, unknown>, name = 'f'): FunctionObject {
  const parsed = parseFunctionSpec({ runtime: 'nodejs20.x', handler: 'index.handler', ...spec });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return { def: { name, namespace: 'team-a', spec: parsed.value as FunctionSpec }, uid: 'uid-1' };
}

test('the worker command line is one the real agent accepts, and it reads the same definition back', () => {
  const f = fn({
    runtime: 'python3.12',
    handler: 'app.main',
    code: { inline: { 'app.py': '' } },
    memorySize: 512,
    timeout: 30,
    environment: { variables: { TABLE: 'users' } },
    ephemeralStorage: { size: 1024 },
  });
  const pod = makeDeployment(f, workerConfig).spec!.template.spec!;
  const root = mkdtempSync(join(tmpdir(), 'agent-args-'));
  // Lay out the pod's mounts on this machine: the config ConfigMap and the code.
  const config = join(root, 'etc');
  mkdirSync(config);
  for (const [k, v] of Object.entries(makeAgentConfig(f).data!)) writeFileSync(join(config, k), v);
  const mounts: Record<string, string> = {
    '/etc/selfless': config,
    '/var/task': join(root, 'task'),
    '/tmp': root,
  };
  const args = pod.containers[0]!.args!.map((a) => {
    const from = Object.keys(mounts).find((m) => a === m || a.startsWith(`${m}/`));
    return from ? mounts[from] + a.slice(from.length) : a;
  });
  assert.equal(args[0], 'agent');
  const def = definitionFromArgs(args.slice(1));
  assert.ok(typeof def === 'object', String(def));
  assert.equal(def.name, 'f');
  const { code: _a, ...want } = f.def.spec;
  const { code: _b, ...got } = def.spec;
  assert.deepEqual(got, want);
});
